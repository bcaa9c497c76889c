//! Closed sets of kinds that a scenario file names by string.
//!
//! Each set is one enum declared with [`kinds!`]: a variant and its name
//! side by side, once. The list of names that error messages show, the
//! lookup by name and the name of a variant all come from that one
//! declaration, and the code that acts on a kind matches on the enum, so
//! the compiler asks for every kind: a new kind can neither be forgotten by
//! a parser nor silently read as another one.

use std::fmt;

/// A closed set of kinds named in scenario files (`kind = "…"`,
/// `curve = "…"`, `distribution = "…"`).
///
/// Read one with [`Fields::kind`](super::Fields::kind), which names the
/// field and lists [`Kind::ALL`]'s names when the value is none of them.
pub trait Kind: Copy + Eq + fmt::Debug + 'static {
    /// Every kind, in the order error messages list them.
    const ALL: &'static [Self];

    /// The kind's name, as written in a scenario file.
    fn name(self) -> &'static str;

    /// The kind called `name`, if any.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// Every kind's name, comma-separated, as messages list them.
    fn name_list() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
        names.join(", ")
    }
}

/// Declares a fieldless enum of kinds with each variant's name, and its
/// [`Kind`] implementation; `NAMES` lists the names in declaration order.
macro_rules! kinds {
    (
        $(#[$meta:meta])*
        $vis:vis enum $ty:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $name:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $ty {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $ty {
            /// The names of the kinds, in declaration order.
            #[allow(dead_code)]
            $vis const NAMES: &'static [&'static str] = &[$($name,)+];
        }

        impl $crate::scenario::Kind for $ty {
            const ALL: &'static [Self] = &[$($ty::$variant,)+];

            fn name(self) -> &'static str {
                match self {
                    $( $ty::$variant => $name, )+
                }
            }
        }
    };
}
pub(crate) use kinds;
