//! Text in the PNG plots, each glyph at its own side bearing.
//!
//! plotters 0.3.7 draws an ab_glyph glyph at the pen position, without the
//! glyph's left side bearing, so a narrow glyph (`.`, `-`) shifts left into
//! its neighbour; after a kerned pair such as `T.` it vanishes, and the
//! label `assets.AGT.pricing.m` reads `assets.AGTpricing.m`. [`GlyphText`]
//! wraps a pixel backend and draws text itself, the same layout and
//! anchoring as plotters but with each glyph where the font puts it. The
//! SVG backend writes text as text, which the viewer lays out; it needs no
//! fix.

use ab_glyph::{Font, FontRef, ScaleFont};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};
use std::sync::OnceLock;

/// The bundled font, parsed once.
fn font() -> Option<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(crate::plot::FONT_BYTES).ok())
        .as_ref()
}

/// Calls `put(x, y, coverage)` for every pixel of `text` at `size`
/// pixels, with the pen starting at x = 0 and the baseline at
/// y = size / 2, as plotters places it; coverage is in [0, 1].
pub(crate) fn glyph_pixels<E>(
    font: &FontRef<'_>,
    size: f32,
    text: &str,
    mut put: impl FnMut(i32, i32, f32) -> Result<(), E>,
) -> Result<(), E> {
    let scaled = font.as_scaled(size);
    let mut pen = 0f32;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = previous {
            pen += scaled.kern(p, id);
        }
        previous = Some(id);
        let glyph = id.with_scale_and_position(size, ab_glyph::point(pen, 0.0));
        if let Some(outline) = scaled.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            let (x0, y0) = (
                bounds.min.x as i32,
                (size / 2.0 + bounds.min.y).floor() as i32,
            );
            let mut pixels = Vec::new();
            outline.draw(|x, y, a| pixels.push((x as i32 + x0, y as i32 + y0, a)));
            for (x, y, a) in pixels {
                put(x, y, a)?;
            }
        }
        pen += scaled.h_advance(id);
    }
    Ok(())
}

/// A pixel backend whose text is drawn by [`glyph_pixels`]; everything
/// else goes to the backend it wraps.
pub(crate) struct GlyphText<B>(pub B);

impl<B: DrawingBackend> DrawingBackend for GlyphText<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        self.0.estimate_text_size(text, style)
    }

    /// plotters' own layout and anchoring (its text box, its rotation),
    /// with the glyphs of [`glyph_pixels`].
    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        let Some(font) = font() else {
            // The font is checked when plotting starts; never here.
            return self.0.draw_text(text, style, pos);
        };
        if color.alpha == 0.0 {
            return Ok(());
        }
        let ((min_x, min_y), (max_x, max_y)) = style
            .layout_box(text)
            .map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let transform = style.transform();
        let (w, h) = self.get_size();
        glyph_pixels(font, style.size() as f32, text, |x, y, a| {
            let (x, y) = transform.transform(x + dx - min_x, y + dy - min_y);
            let (x, y) = (pos.0 + x, pos.1 + y);
            if x >= 0 && x < w as i32 && y >= 0 && y < h as i32 {
                self.0.draw_pixel((x, y), color.mix(f64::from(a)))
            } else {
                Ok(())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` at `size` px as a painter sees it: coverage per pixel (a
    /// pixel covered twice no darker than once), the baseline at row 50.
    fn paint(text: &str, size: f32) -> Vec<Vec<f32>> {
        let mut pixels = vec![vec![0f32; 300]; 100];
        let shift = 50 - (size / 2.0) as i32;
        glyph_pixels::<()>(font().unwrap(), size, text, |x, y, a| {
            let p = &mut pixels[(y + shift) as usize][(x + 50) as usize];
            *p = (*p + a).min(1.0);
            Ok(())
        })
        .unwrap();
        pixels
    }

    /// The separate strokes (runs of adjacent columns holding a pixel at
    /// least half covered) in the two rows above the baseline.
    fn strokes_at_baseline(pixels: &[Vec<f32>]) -> usize {
        let inked: Vec<bool> = (0..300)
            .map(|x| (48..50).any(|y| pixels[y][x] >= 0.5))
            .collect();
        inked.windows(2).filter(|w| w[0] && !w[1]).count()
    }

    /// The regression of `assets.AGTpricing.m` in the PNG plots: the dot
    /// after a `T` (a kerned pair) stands apart from the T's stem.
    #[test]
    fn a_dot_after_a_t_stands_apart_from_its_stem() {
        for size in [13.0, 15.0, 20.0] {
            assert_eq!(strokes_at_baseline(&paint("T.", size)), 2, "{size} px");
        }
    }

    /// Every glyph sits on the baseline: the dot's lowest row is the
    /// lowest row of the `l` beside it.
    #[test]
    fn a_dot_sits_on_the_baseline() {
        let lowest = |pixels: &[Vec<f32>], columns: std::ops::Range<usize>| {
            (0..100)
                .rev()
                .find(|&y| columns.clone().any(|x| pixels[y][x] >= 0.5))
                .unwrap()
        };
        for size in [13.0, 15.0, 20.0] {
            let l = paint("l", size);
            let dot_alone = paint(".", size);
            assert_eq!(lowest(&l, 0..300), lowest(&dot_alone, 0..300), "{size} px");
        }
    }
}
