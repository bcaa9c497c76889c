//! Output folders written whole: a reader sees the earlier results or the
//! new ones, never a mix, and two commands never write one folder at once.
//!
//! [`OutputDir::open`] locks the folder `DIR` (an advisory `flock` on
//! `DIR/.agora-manifest`, created if missing, on Unix-like systems) and makes a fresh staging
//! folder beside it, `.DIR.agora-tmp-<id>/`. Everything new is written
//! there, then [`OutputDir::commit`] switches it into place:
//!
//! 1. the staging folder gets its own manifest, listing every file (with
//!    its sha256) and folder Agora wrote, those inside its folders too
//!    (`points/0/assets.csv`), and is locked too;
//! 2. the files in `DIR` that Agora did not write (not in `DIR`'s
//!    manifest) are hard-linked into it: the same files, never copied,
//!    moved or deleted. A folder that Agora did not write is refused at
//!    `open`, and so is a file of the user's named like an output or put
//!    inside one of Agora's folders (which the switch replaces whole);
//! 3. one `renameat2(RENAME_EXCHANGE)` (Linux; `RENAME_SWAP` on macOS)
//!    swaps the two folders. Where the file system cannot exchange, `DIR`
//!    is renamed aside and the staging folder renamed to `DIR`;
//! 4. the earlier folder, now under the staging name, loses the entries
//!    its manifest lists and the links of the user's files, and is removed.
//!    A file that appeared in `DIR` during the switch is moved into the new
//!    `DIR` rather than deleted.
//!
//! What a reader of `DIR` sees if the process dies at any point: before
//! step 3, the earlier results, untouched; at step 3, the earlier or the new
//! results, never both (with the two-rename fallback, between the renames,
//! no `DIR` at all); after it, the new results. What is left beside `DIR` is
//! only a `.DIR.agora-tmp-<id>/` folder, which the next `open` of `DIR`
//! cleans up by the same rules as step 4 (a folder still marked as being
//! staged holds nothing but Agora's output and links, and goes whole).
//!
//! The lock is held from `open` until the value is dropped; it passes from
//! the earlier manifest to the new one without a gap, since both are locked
//! before the switch, and a command that locked a manifest just replaced
//! checks that it still is `DIR`'s before going on.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The file in an output folder that lists what Agora wrote there, and
/// that a command writing the folder holds locked.
pub const MANIFEST: &str = ".agora-manifest";

/// A file's sync to disk, started by [`OutputDir::sync_later`].
#[derive(Debug)]
enum Syncing {
    /// On a thread of its own.
    OnThread(std::thread::JoinHandle<std::io::Result<()>>),
    /// Done where no thread could be started.
    Done(std::io::Result<()>),
}

/// Marks a staging folder whose contents are all Agora's (or links of
/// files in `DIR`): one left by a killed command is removed whole.
const STAGING_MARKER: &str = ".agora-staging";

/// What follows `.DIR` in the name of a staging (or set-aside) folder.
const TEMP_INFIX: &str = ".agora-tmp-";

/// What Agora wrote into an output folder, as its manifest lists it: each
/// entry by its path in the folder, `/` between the names of folders
/// (`summary.json`, `plots`, `plots/price.svg`, `points/0/assets.csv`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    entries: BTreeMap<String, ManifestEntry>,
}

/// One entry of a [`Manifest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestEntry {
    /// A file, with `sha256:` and the hex digest of its content.
    File {
        /// `sha256:<64 hex digits>`.
        sha256: String,
    },
    /// A folder, e.g. `plots`, whose entries the manifest lists too.
    Dir,
}

impl Manifest {
    /// Reads `dir`'s manifest; `None` when it has none (a folder that no
    /// version of Agora with manifests has written), or only the empty one
    /// that a command created to lock the folder.
    pub fn read(dir: &Path) -> Result<Option<Manifest>> {
        let path = dir.join(MANIFEST);
        match fs::read(&path) {
            // Created only to be locked by a command that has not
            // committed: nothing written yet (a commit always writes the
            // header).
            Ok(bytes) if bytes.is_empty() => Ok(None),
            Ok(bytes) => Manifest::parse(&path, &bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, "reading", e)),
        }
    }

    /// Parses manifest text; `path` names it in errors.
    fn parse(path: &Path, bytes: &[u8]) -> Result<Manifest> {
        let bad = |line: usize, why: &str| {
            Error::usage(format!(
                "{}: line {line}: {why} (expected `file sha256:HEX NAME` or `dir NAME`; \
                 the file lists what Agora wrote in this folder)",
                path.display()
            ))
        };
        let text = std::str::from_utf8(bytes).map_err(|_| bad(1, "not UTF-8 text"))?;
        let mut entries = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (entry, name) = if let Some(rest) = line.strip_prefix("file ") {
                let (hash, name) = rest.split_once(' ').ok_or_else(|| bad(i + 1, "no name"))?;
                let hex = hash
                    .strip_prefix("sha256:")
                    .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                    .ok_or_else(|| bad(i + 1, "not a sha256 digest"))?;
                (
                    ManifestEntry::File {
                        sha256: format!("sha256:{}", hex.to_ascii_lowercase()),
                    },
                    name,
                )
            } else if let Some(name) = line.strip_prefix("dir ") {
                (ManifestEntry::Dir, name)
            } else {
                return Err(bad(i + 1, "unknown entry"));
            };
            if !is_relative_path(name) {
                return Err(bad(i + 1, "a name must be an entry of this folder"));
            }
            entries.insert(name.to_string(), entry);
        }
        Ok(Manifest { entries })
    }

    /// The manifest's text.
    fn render(&self) -> String {
        let mut out = format!(
            "# agora {}: what the last agora command wrote into this folder; the next\n\
             # one removes exactly these, and keeps every other file.\n",
            super::VERSION
        );
        for (name, entry) in &self.entries {
            match entry {
                ManifestEntry::File { sha256 } => out.push_str(&format!("file {sha256} {name}\n")),
                ManifestEntry::Dir => out.push_str(&format!("dir {name}\n")),
            }
        }
        out
    }

    /// The entry at `path` (`/` between folder names), if Agora wrote it.
    pub fn get(&self, path: &str) -> Option<&ManifestEntry> {
        self.entries.get(path)
    }

    /// Whether the manifest lists `path` (`/` between folder names).
    pub fn contains(&self, path: &OsStr) -> bool {
        path.to_str().is_some_and(|n| self.entries.contains_key(n))
    }

    /// The names of the folder's own entries listed (not those inside its
    /// folders), in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries
            .keys()
            .map(String::as_str)
            .filter(|p| !p.contains('/'))
    }

    /// Every path listed, those inside folders too, in order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}

/// `sha256:` and the hex digest of `bytes`, as a manifest lists it.
pub fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A file of the results being written piece by piece
/// ([`OutputDir::create`]); `Write` appends to it. A file never handed to
/// [`OutputDir::close`] is not part of the results.
pub struct StagedFile {
    name: String,
    path: PathBuf,
    file: std::io::BufWriter<File>,
    hasher: Sha256,
}

impl std::fmt::Debug for StagedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Write for StagedFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(bytes)?;
        self.hasher.update(&bytes[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Checks that the files `names` of `dir` are the ones the last Agora
/// command wrote there: when `dir` has a manifest, each present file must
/// be listed with its current sha256. A folder without a manifest (written
/// by hand or by an older Agora) passes. Returns which of `names` exist.
pub fn check_written(dir: &Path, names: &[&str]) -> Result<Vec<String>> {
    let manifest = Manifest::read(dir)?;
    let mut present = Vec::new();
    for name in names {
        let path = dir.join(name);
        if !path.exists() {
            continue;
        }
        present.push((*name).to_string());
        let Some(manifest) = &manifest else { continue };
        match manifest.get(name) {
            Some(ManifestEntry::File { sha256: listed }) => {
                let bytes = fs::read(&path).map_err(|e| Error::io(&path, "reading", e))?;
                if sha256(&bytes) != *listed {
                    return Err(Error::usage(format!(
                        "{}: not the file the last agora command wrote here (its sha256 \
                         differs from {MANIFEST}): the folder mixes results; write them again",
                        path.display()
                    )));
                }
            }
            _ => {
                return Err(Error::usage(format!(
                    "{}: not written by the agora command that wrote the rest of {} \
                     (not in {MANIFEST}): the folder mixes results; write them again",
                    path.display(),
                    dir.display()
                )))
            }
        }
    }
    Ok(present)
}

/// What [`OutputDir::commit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The files written through [`OutputDir::write`], in order, under the
    /// folder's name as given to [`OutputDir::open`].
    pub paths: Vec<PathBuf>,
    /// What a killed earlier command left that could not be cleaned up,
    /// for the user (see [`OutputDir::notes`]).
    pub notes: Vec<String>,
}

/// An output folder being written: locked, with a staging folder beside it
/// that [`commit`](Self::commit) switches into place. Dropped without a
/// commit, it removes the staging folder (and the folder itself, if `open`
/// created it) and leaves the earlier results as they were.
#[derive(Debug)]
pub struct OutputDir {
    /// The folder as the caller named it (for messages and returned paths).
    dir: PathBuf,
    /// Its canonical path: where the switch happens.
    target: PathBuf,
    parent: PathBuf,
    name: OsString,
    staging: PathBuf,
    /// `DIR`'s manifest, locked.
    lock: Option<File>,
    /// The staging folder's manifest, locked from before the switch.
    new_lock: Option<File>,
    /// What an earlier Agora command wrote into `DIR`.
    earlier: Manifest,
    /// Files written through [`write`](Self::write), in order, with digests.
    written: Vec<(String, String)>,
    /// Files written through [`write`](Self::write) and
    /// [`close`](Self::close), and the new manifest, each being synced to
    /// disk on a thread of its own (so that a command's few files wait for
    /// the disk together, not one after another), joined before the
    /// commit lists them and again before the switch.
    syncing: Vec<(PathBuf, Syncing)>,
    /// Files written through [`write_within`](Self::write_within), by path,
    /// with digests (written from several threads at once).
    within: Mutex<HashMap<String, String>>,
    /// Names kept from the earlier results (linked into the staging folder).
    kept: Vec<String>,
    /// The top-level names the caller means to write (checked at `open`).
    planned: Vec<String>,
    /// Folders `open` created (the output folder and missing parents),
    /// innermost first, removed again if nothing is committed.
    created_dirs: Vec<PathBuf>,
    /// Whether `open` created `DIR`'s manifest (to hold the lock).
    created_manifest: bool,
    /// Leftovers that could not be put back, for the caller to report.
    notes: Vec<String>,
    committed: bool,
}

impl OutputDir {
    /// Locks `dir` (created if missing) for writing results named
    /// `planned` (top-level names, e.g. `assets.csv`, `plots`), cleans up
    /// what a killed command left beside it, and makes the staging folder.
    ///
    /// Errors, before anything is written: another command holds the
    /// folder; `dir` is not a folder, is a mount point, or holds the
    /// current working folder (the switch replaces it whole); `dir` holds a
    /// folder Agora did not write, or a file Agora did not write named like
    /// one of `planned`.
    pub fn open(dir: &Path, planned: &[&str]) -> Result<OutputDir> {
        Self::open_reading(dir, planned, &[])
    }

    /// [`open`](Self::open) for a command that reads the files `inputs`
    /// (e.g. its scenario): refused first when the results would replace
    /// one of them (see [`protect`](Self::protect)).
    pub fn open_reading(dir: &Path, planned: &[&str], inputs: &[&Path]) -> Result<OutputDir> {
        for name in planned {
            check_name(name)?;
        }
        let mut created_dirs = Vec::new();
        match fs::symlink_metadata(dir) {
            Ok(_) => {
                if !dir.is_dir() {
                    return Err(Error::usage(format!(
                        "{}: not a folder: the results go into a folder of that name",
                        dir.display()
                    )));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut missing = Vec::new();
                let mut p = dir;
                while !p.as_os_str().is_empty() && fs::symlink_metadata(p).is_err() {
                    missing.push(p.to_path_buf());
                    match p.parent() {
                        Some(q) => p = q,
                        None => break,
                    }
                }
                fs::create_dir_all(dir)
                    .map_err(|e| Error::io(dir, "creating the output folder", e))?;
                created_dirs = missing;
            }
            Err(e) => return Err(Error::io(dir, "reading the output folder", e)),
        }
        let mut out = OutputDir {
            dir: dir.to_path_buf(),
            target: PathBuf::new(),
            parent: PathBuf::new(),
            name: OsString::new(),
            staging: PathBuf::new(),
            lock: None,
            new_lock: None,
            earlier: Manifest::default(),
            written: Vec::new(),
            syncing: Vec::new(),
            within: Mutex::new(HashMap::new()),
            kept: Vec::new(),
            planned: planned.iter().map(|s| s.to_string()).collect(),
            created_dirs,
            created_manifest: false,
            notes: Vec::new(),
            committed: false,
        };
        // From here on, Drop undoes what was created.
        out.target = fs::canonicalize(dir).map_err(|e| Error::io(dir, "resolving", e))?;
        let (Some(parent), Some(name)) = (out.target.parent(), out.target.file_name()) else {
            return Err(Error::usage(format!(
                "{}: the results replace the output folder whole; the root cannot be one",
                dir.display()
            )));
        };
        out.parent = parent.to_path_buf();
        out.name = name.to_os_string();
        let (lock, created) = lock_manifest(&out.dir, &out.target)?;
        out.lock = Some(lock);
        out.created_manifest = created;
        out.check_place()?;
        out.notes = out.clean_leftovers()?;
        out.earlier = Manifest::read(&out.target)?.unwrap_or_default();
        for input in inputs {
            out.protect(input)?;
        }
        out.user_entries(planned)?;
        out.check_agoras_folders()?;
        out.staging = out.make_staging()?;
        Ok(out)
    }

    /// The staging folder: where files are written before the switch (for
    /// writers that write files themselves, e.g. plots).
    pub fn staging(&self) -> &Path {
        &self.staging
    }

    /// The output folder as given to [`open`](Self::open).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What was cleaned up or left behind by an earlier, killed command
    /// that the caller may want to tell the user.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// What an earlier Agora command wrote into the folder.
    pub fn earlier(&self) -> &Manifest {
        &self.earlier
    }

    /// Refuses `input` (a file the command reads, e.g. its scenario) when
    /// the switch would replace or remove it: a file an earlier Agora
    /// command wrote into the folder, or one named like a planned output.
    pub fn protect(&self, input: &Path) -> Result<()> {
        let Ok(canonical) = fs::canonicalize(input) else {
            return Ok(());
        };
        let replaced = |name: &OsStr| {
            self.earlier.contains(name) || self.planned.iter().any(|p| OsStr::new(p) == name)
        };
        let mut hit = canonical
            .strip_prefix(&self.target)
            .ok()
            .and_then(|rest| rest.components().next())
            .is_some_and(|c| replaced(c.as_os_str()));
        if !hit {
            // A hard link elsewhere to a file in the folder.
            if let Ok(read) = fs::read_dir(&self.target) {
                hit = read.flatten().any(|e| {
                    replaced(&e.file_name()) && same_file(&canonical, &e.path()).unwrap_or(false)
                });
            }
        }
        if hit {
            return Err(Error::usage(format!(
                "{}: is the file being read, and the results written into {} would replace it: \
                 write them elsewhere, or copy the file out of that folder first",
                input.display(),
                self.dir.display()
            )));
        }
        Ok(())
    }

    /// Writes `bytes` as `name` into the staging folder (synced to disk
    /// before the [`commit`](Self::commit) switches it into place).
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        check_name(name)?;
        let path = self.staging.join(name);
        let mut f = File::create(&path).map_err(|e| Error::io(&path, "creating", e))?;
        f.write_all(bytes)
            .map_err(|e| Error::io(&path, "writing", e))?;
        self.sync_later(path, f);
        self.written.push((name.to_string(), sha256(bytes)));
        Ok(())
    }

    /// Starts syncing `file` (at `path`) to disk on a thread of its own;
    /// [`prepare`](Self::prepare) waits for it. Where no thread can be
    /// started, syncs it now.
    fn sync_later(&mut self, path: PathBuf, file: File) {
        let spawned = std::thread::Builder::new()
            .name("agora-sync".into())
            .spawn(move || file.sync_all());
        let pending = match spawned {
            Ok(handle) => Syncing::OnThread(handle),
            // The file went with the closure: sync it through a new handle
            // (the same file's data), on this thread.
            Err(_) => Syncing::Done(File::open(&path).and_then(|f| f.sync_all())),
        };
        self.syncing.push((path, pending));
    }

    /// Waits for every file [`sync_later`](Self::sync_later) is syncing;
    /// the first that failed is the error.
    fn wait_for_syncs(&mut self) -> Result<()> {
        let mut failed = None;
        for (path, pending) in self.syncing.drain(..) {
            let result = match pending {
                Syncing::OnThread(handle) => handle.join().unwrap_or_else(|_| {
                    Err(std::io::Error::other("the thread syncing it panicked"))
                }),
                Syncing::Done(result) => result,
            };
            if let (Err(e), None) = (result, &failed) {
                failed = Some(Error::io(&path, "writing", e));
            }
        }
        failed.map_or(Ok(()), Err)
    }

    /// Starts the file `name` of the results, to be written piece by piece
    /// (e.g. a table as the run goes, rather than rendered whole in
    /// memory) and then handed to [`close`](Self::close), which syncs it
    /// and lists it like [`write`](Self::write). Its digest is computed as
    /// it is written.
    pub fn create(&self, name: &str) -> Result<StagedFile> {
        check_name(name)?;
        let path = self.staging.join(name);
        let file = File::create(&path).map_err(|e| Error::io(&path, "creating", e))?;
        Ok(StagedFile {
            name: name.to_string(),
            file: std::io::BufWriter::with_capacity(1 << 16, file),
            hasher: Sha256::new(),
            path,
        })
    }

    /// Ends a file started with [`create`](Self::create): written out,
    /// synced to disk and listed in the manifest.
    pub fn close(&mut self, staged: StagedFile) -> Result<()> {
        let StagedFile {
            name,
            path,
            file,
            hasher,
        } = staged;
        let file = file
            .into_inner()
            .map_err(|e| Error::io(&path, "writing", e.into_error()))?;
        self.sync_later(path, file);
        let hex: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.written.push((name, format!("sha256:{hex}")));
        Ok(())
    }

    /// Writes `bytes` as the file at `path` inside the staging folder
    /// (names separated by `/`, e.g. `points/0/assets.csv`; its folders are
    /// created), synced to disk. Unlike [`write`](Self::write) it takes
    /// `&self`, so that several threads may write at once, and the file is
    /// not among the paths [`commit`](Self::commit) returns; the manifest
    /// lists it all the same.
    pub fn write_within(&self, path: &str, bytes: &[u8]) -> Result<()> {
        if !is_relative_path(path) || !path.contains('/') {
            return Err(Error::usage(format!(
                "{path:?}: not a path inside a folder of the results"
            )));
        }
        check_name(path.split('/').next().unwrap_or(path))?;
        let file = self.staging.join(path);
        if let Some(parent) = file.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, "creating", e))?;
        }
        let mut f = File::create(&file).map_err(|e| Error::io(&file, "creating", e))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(&file, "writing", e))?;
        self.within
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(path.to_string(), sha256(bytes));
        Ok(())
    }

    /// Keeps the earlier result `name` (a file or folder an earlier Agora
    /// command wrote) in the new results, linked, not copied.
    pub fn keep(&mut self, name: &str) -> Result<()> {
        check_name(name)?;
        if !self.earlier.contains(OsStr::new(name)) {
            return Err(Error::usage(format!(
                "{}: not written by Agora, so not kept as a result",
                self.dir.join(name).display()
            )));
        }
        link_tree(&self.target.join(name), &self.staging.join(name))?;
        self.kept.push(name.to_string());
        Ok(())
    }

    /// Switches the staging folder into place (see the module docs) and
    /// returns the paths of the files written through [`write`](Self::write)
    /// (under the folder's name as given) and any notes on leftovers.
    pub fn commit(self) -> Result<Committed> {
        self.commit_with(true)
    }

    /// [`commit`](Self::commit), by an exchange (`exchange`) where the
    /// system has one, or by two renames (to test the fallback).
    fn commit_with(mut self, exchange: bool) -> Result<Committed> {
        self.prepare()?;
        let old = self.switch_into_place(exchange)?;
        Ok(self.finish(&old))
    }

    /// Steps 1 and 2 of the commit: the staging folder's manifest (locked)
    /// and the links of the user's files; then the staging mark goes, as
    /// the folder is complete.
    fn prepare(&mut self) -> Result<()> {
        self.wait_for_syncs()?;
        // Everything in the staging folder is Agora's, whoever wrote it.
        let mut manifest = Manifest::default();
        let mut digests: HashMap<String, String> = std::mem::take(
            &mut *self
                .within
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        digests.extend(self.written.iter().cloned());
        // A kept result is the earlier file itself (linked): its digest is
        // the one the earlier manifest lists, not read again.
        for path in self.earlier.paths() {
            let top = path.split('/').next().unwrap_or(path);
            if let (true, Some(ManifestEntry::File { sha256 })) =
                (self.kept.iter().any(|k| k == top), self.earlier.get(path))
            {
                digests.entry(path.to_string()).or_insert(sha256.clone());
            }
        }
        let mut names = Vec::new();
        for entry in read_dir(&self.staging)? {
            let name = entry.file_name();
            if name == STAGING_MARKER {
                continue;
            }
            let path = entry.path();
            let name = name
                .to_str()
                .map(str::to_string)
                .ok_or_else(|| Error::usage(format!("{}: not a UTF-8 name", path.display())))?;
            list_entry(&path, &name, &digests, &mut manifest)?;
            names.push(name);
        }
        // The earlier folders are checked again: a file may have been put
        // into one while the command ran.
        self.check_agoras_folders()?;
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let user = self.user_entries(&name_refs)?;

        let manifest_path = self.staging.join(MANIFEST);
        let mut new_lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&manifest_path)
            .map_err(|e| Error::io(&manifest_path, "creating", e))?;
        new_lock
            .write_all(manifest.render().as_bytes())
            .map_err(|e| Error::io(&manifest_path, "writing", e))?;
        // The manifest is synced beside the links and the folder's sync.
        match new_lock.try_clone() {
            Ok(handle) => self.sync_later(manifest_path, handle),
            Err(_) => new_lock
                .sync_all()
                .map_err(|e| Error::io(&manifest_path, "writing", e))?,
        }
        lock_now(&new_lock, &self.dir)?;
        self.new_lock = Some(new_lock);
        for name in &user {
            let (from, to) = (self.target.join(name), self.staging.join(name));
            fs::hard_link(&from, &to)
                .map_err(|e| Error::io(&from, "linking into the new results", e))?;
        }
        sync_dir(&self.staging);
        self.wait_for_syncs()?;
        let marker = self.staging.join(STAGING_MARKER);
        fs::remove_file(&marker).map_err(|e| Error::io(&marker, "removing", e))
    }

    /// Step 3: the switch. Returns where the earlier folder now is.
    fn switch_into_place(&mut self, exchange: bool) -> Result<PathBuf> {
        let old = switch(
            &self.staging,
            &self.target,
            &self.parent,
            &self.name,
            exchange,
        )
        .map_err(|e| Error::io(&self.dir, "switching the new results into place", e))?;
        self.committed = true;
        sync_dir(&self.parent);
        Ok(old)
    }

    /// Step 4: the earlier folder `old` cleaned up and removed.
    fn finish(mut self, old: &Path) -> Committed {
        // The lock passes to the new manifest; the earlier one goes with
        // the earlier results.
        let earlier_lock = std::mem::replace(&mut self.lock, self.new_lock.take());
        // The results are in place: what fails from here on is told, not
        // returned (the next command into the folder cleans up).
        match recover(old, &self.target) {
            Ok(mut notes) => self.notes.append(&mut notes),
            Err(e) => self.notes.push(e.to_string()),
        }
        drop(earlier_lock);
        Committed {
            paths: self
                .written
                .iter()
                .map(|(name, _)| self.dir.join(name))
                .collect(),
            notes: std::mem::take(&mut self.notes),
        }
    }

    /// Stops as a killed process would: the locks go (the kernel drops
    /// them with the process), nothing is cleaned up.
    #[cfg(test)]
    fn kill(mut self) {
        self.lock = None;
        self.new_lock = None;
        self.committed = true;
    }

    /// Checks that the folder can be switched whole: not a mount point,
    /// not holding the current working folder.
    fn check_place(&self) -> Result<()> {
        if let Ok(cwd) = std::env::current_dir().and_then(fs::canonicalize) {
            if cwd.starts_with(&self.target) {
                return Err(Error::usage(format!(
                    "{}: holds the current working folder; the results replace the output \
                     folder whole, which would leave the working folder deleted: work from \
                     outside it, or write the results elsewhere",
                    self.dir.display()
                )));
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let dev = |p: &Path| fs::metadata(p).map(|m| m.dev());
            if let (Ok(a), Ok(b)) = (dev(&self.target), dev(&self.parent)) {
                if a != b {
                    return Err(Error::usage(format!(
                        "{}: is a mount point; the results are switched into place by renaming \
                         a folder beside it, which cannot cross file systems: write them into a \
                         folder inside it",
                        self.dir.display()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Refuses a folder Agora wrote (listed in `DIR`'s manifest) that holds
    /// an entry the manifest does not list: a file of the user's inside it,
    /// which the switch would remove with the folder.
    fn check_agoras_folders(&self) -> Result<()> {
        for name in self.earlier.names() {
            if self.earlier.get(name) != Some(&ManifestEntry::Dir) {
                continue;
            }
            let path = self.target.join(name);
            let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
            if is_dir {
                self.check_listed(&path, name)?;
            }
        }
        Ok(())
    }

    /// Checks that every entry under the folder `path` (at `rel` in `DIR`)
    /// is listed in `DIR`'s manifest, a folder as a folder.
    fn check_listed(&self, path: &Path, rel: &str) -> Result<()> {
        for entry in read_dir(path)? {
            let entry_path = entry.path();
            let name = entry.file_name();
            let rel = format!("{rel}/{}", name.to_string_lossy());
            let meta = fs::symlink_metadata(&entry_path)
                .map_err(|e| Error::io(&entry_path, "reading", e))?;
            let listed = match self.earlier.get(&rel) {
                Some(ManifestEntry::Dir) => meta.is_dir(),
                Some(ManifestEntry::File { .. }) => !meta.is_dir(),
                None => false,
            };
            if !listed || name.to_str().is_none() {
                let top = rel.split('/').next().unwrap_or(&rel);
                return Err(Error::usage(format!(
                    "{}: not written by Agora (not in {MANIFEST}), inside the folder {top} that \
                     the results replace whole: move it, or write the results elsewhere",
                    self.dir.join(&rel).display()
                )));
            }
            if meta.is_dir() {
                self.check_listed(&entry_path, &rel)?;
            }
        }
        Ok(())
    }

    /// The entries of the folder that Agora did not write (besides the
    /// manifest), checked: none may be a folder, or share a name with
    /// `names`.
    fn user_entries(&self, names: &[&str]) -> Result<Vec<OsString>> {
        let mut user = Vec::new();
        for entry in read_dir(&self.target)? {
            let name = entry.file_name();
            if name == MANIFEST || self.earlier.contains(&name) {
                continue;
            }
            let path = entry.path();
            if name == STAGING_MARKER {
                // Agora's mark of a folder it may remove whole: never a
                // name in a folder that holds the user's files.
                return Err(Error::usage(format!(
                    "{}: a name Agora keeps for its staging folders: rename it, or write the \
                     results elsewhere",
                    path.display()
                )));
            }
            let meta = fs::symlink_metadata(&path).map_err(|e| Error::io(&path, "reading", e))?;
            if meta.is_dir() {
                return Err(Error::usage(format!(
                    "{}: a folder that Agora did not write (not in {MANIFEST}); an output folder \
                     may hold your files but not your folders: move it, or write the results \
                     elsewhere",
                    self.dir.join(&name).display()
                )));
            }
            if names.iter().any(|n| OsStr::new(n) == name) {
                return Err(Error::usage(format!(
                    "{}: not written by Agora (not in {MANIFEST}), and a result of that name \
                     would replace it: move it, or write the results elsewhere",
                    self.dir.join(&name).display()
                )));
            }
            user.push(name);
        }
        Ok(user)
    }

    /// Removes (or empties back into the folder) every staging folder a
    /// killed command left beside it.
    fn clean_leftovers(&self) -> Result<Vec<String>> {
        let mut notes = Vec::new();
        for entry in read_dir(&self.parent)? {
            let name = entry.file_name();
            if is_temp_name(&name, &self.name) {
                match recover(&entry.path(), &self.target) {
                    Ok(n) => notes.extend(n),
                    Err(e) => notes.push(e.to_string()),
                }
            }
        }
        Ok(notes)
    }

    fn make_staging(&self) -> Result<PathBuf> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        for attempt in 0..100u32 {
            let path = self.parent.join(temp_name(
                &self.name,
                &format!("{}-{nanos:x}-{attempt}", std::process::id()),
            ));
            match fs::create_dir(&path) {
                Ok(()) => {
                    let marker = path.join(STAGING_MARKER);
                    File::create(&marker).map_err(|e| Error::io(&marker, "creating", e))?;
                    return Ok(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(&path, "creating the staging folder", e)),
            }
        }
        Err(Error::usage(format!(
            "{}: no free name for a staging folder",
            self.parent.display()
        )))
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        if !self.staging.as_os_str().is_empty() {
            let _ = recover(&self.staging, &self.target);
        }
        if self.created_manifest {
            let _ = fs::remove_file(self.target.join(MANIFEST));
        }
        self.lock = None;
        for dir in &self.created_dirs {
            // Only if empty: never more than `open` created.
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Opens and locks `target`'s manifest, creating it if missing; retries
/// when the file was replaced or removed between opening and locking.
/// Returns the file and whether it was created.
fn lock_manifest(dir: &Path, target: &Path) -> Result<(File, bool)> {
    let path = target.join(MANIFEST);
    for _ in 0..100 {
        let (file, created) = match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => (f, true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                match OpenOptions::new().read(true).write(true).open(&path) {
                    Ok(f) => (f, false),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(Error::io(&path, "opening", e)),
                }
            }
            Err(e) => return Err(Error::io(&path, "creating", e)),
        };
        lock_now(&file, dir)?;
        // Locked: the file must still be the folder's manifest (a commit
        // may have replaced it, or a failed open removed it, meanwhile).
        if same_file_handle(&file, &path) {
            return Ok((file, created));
        }
    }
    Err(busy(dir))
}

fn busy(dir: &Path) -> Error {
    Error::io(
        dir,
        "locking the output folder",
        std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            "another agora command is writing into it; wait for it, or write elsewhere",
        ),
    )
}

/// Takes the advisory lock on `file` without waiting. The kernel drops it
/// when the file is closed, so a killed command never leaves it held.
#[cfg(unix)]
fn lock_now(file: &File, dir: &Path) -> Result<()> {
    use rustix::fs::{flock, FlockOperation};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Err(busy(dir)),
        Err(e) => Err(Error::io(dir, "locking the output folder", e.into())),
    }
}

/// Without flock (not a Unix system), folders are not locked.
#[cfg(not(unix))]
fn lock_now(_file: &File, _dir: &Path) -> Result<()> {
    Ok(())
}

/// Whether the open `file` is the file at `path`.
fn same_file_handle(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), fs::symlink_metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

/// Whether `a` and `b` name the same file (not following a last symlink).
fn same_file(a: &Path, b: &Path) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let (a, b) = (fs::symlink_metadata(a)?, fs::symlink_metadata(b)?);
        Ok(a.dev() == b.dev() && a.ino() == b.ino())
    }
    #[cfg(not(unix))]
    {
        Ok(fs::canonicalize(a)? == fs::canonicalize(b)?)
    }
}

fn read_dir(dir: &Path) -> Result<Vec<fs::DirEntry>> {
    fs::read_dir(dir)
        .and_then(|rd| rd.collect::<std::io::Result<Vec<_>>>())
        .map_err(|e| Error::io(dir, "listing", e))
}

/// `.NAME.agora-tmp-ID`.
fn temp_name(name: &OsStr, id: &str) -> OsString {
    let mut s = OsString::from(".");
    s.push(name);
    s.push(TEMP_INFIX);
    s.push(id);
    s
}

/// Whether `entry` is a staging folder of the output folder `name`: the
/// id after the infix is made of ASCII letters, digits and dashes only, so
/// that the folders of `name.agora-tmp-1` never match `name`'s.
fn is_temp_name(entry: &OsStr, name: &OsStr) -> bool {
    let prefix = temp_name(name, "");
    let (Some(entry), Some(prefix)) = (entry.to_str(), prefix.to_str()) else {
        return false;
    };
    entry.strip_prefix(prefix).is_some_and(|id| {
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// Lists the entry `path` of the staging folder (at `rel` in it) in
/// `manifest`, the entries of a folder too; a file's digest is taken from
/// `digests` where its writer gave it, else read.
fn list_entry(
    path: &Path,
    rel: &str,
    digests: &HashMap<String, String>,
    manifest: &mut Manifest,
) -> Result<()> {
    let meta = fs::symlink_metadata(path).map_err(|e| Error::io(path, "reading", e))?;
    if meta.is_dir() {
        manifest.entries.insert(rel.to_string(), ManifestEntry::Dir);
        for entry in read_dir(path)? {
            let name = entry.file_name();
            let name = name.to_str().ok_or_else(|| {
                Error::usage(format!("{}: not a UTF-8 name", entry.path().display()))
            })?;
            list_entry(&entry.path(), &format!("{rel}/{name}"), digests, manifest)?;
        }
    } else {
        let sha256 = match digests.get(rel) {
            Some(d) => d.clone(),
            None => sha256(&fs::read(path).map_err(|e| Error::io(path, "reading", e))?),
        };
        manifest
            .entries
            .insert(rel.to_string(), ManifestEntry::File { sha256 });
    }
    Ok(())
}

/// A path inside a folder: entry names (see [`is_plain_name`]) joined by
/// `/`.
fn is_relative_path(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('/')
            .all(|n| is_plain_name(OsStr::new(n)) && !n.contains('\\'))
}

/// One entry name of a folder: not empty, `.` or `..`, no separator.
fn is_plain_name(name: &OsStr) -> bool {
    let mut parts = Path::new(name).components();
    matches!(
        (parts.next(), parts.next()),
        (Some(std::path::Component::Normal(n)), None) if n == name
    )
}

fn check_name(name: &str) -> Result<()> {
    if is_plain_name(OsStr::new(name)) && name != MANIFEST && name != STAGING_MARKER {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "{name:?}: not a name for a result (one file or folder name, no path)"
        )))
    }
}

/// Hard-links the file `from` to `to`, or recreates the folder `from` at
/// `to` with its files hard-linked.
fn link_tree(from: &Path, to: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(from).map_err(|e| Error::io(from, "reading", e))?;
    if meta.is_dir() {
        fs::create_dir(to).map_err(|e| Error::io(to, "creating", e))?;
        for entry in read_dir(from)? {
            link_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        fs::hard_link(from, to).map_err(|e| Error::io(from, "linking into the new results", e))
    }
}

/// Removes a file or a whole folder (not following symlinks).
fn remove_entry(path: &Path) -> std::io::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

/// Switches `staging` into place at `target` (both in `parent`) and
/// returns where the earlier folder now is. With `exchange`, one atomic
/// exchange where the system has it; else (or where the file system
/// refuses it) the earlier folder is renamed aside first.
fn switch(
    staging: &Path,
    target: &Path,
    parent: &Path,
    name: &OsStr,
    exchange: bool,
) -> std::io::Result<PathBuf> {
    if exchange && exchange_paths(staging, target)? {
        return Ok(staging.to_path_buf());
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let aside = parent.join(temp_name(
        name,
        &format!("{}-{nanos:x}-earlier", std::process::id()),
    ));
    fs::rename(target, &aside)?;
    if let Err(e) = fs::rename(staging, target) {
        let _ = fs::rename(&aside, target);
        return Err(e);
    }
    Ok(aside)
}

/// Exchanges two folders atomically; false where the system or the file
/// system cannot.
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn exchange_paths(a: &Path, b: &Path) -> std::io::Result<bool> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    use rustix::io::Errno;
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(e) if e == Errno::INVAL || e == Errno::NOSYS || e == Errno::NOTSUP => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn exchange_paths(_a: &Path, _b: &Path) -> std::io::Result<bool> {
    Ok(false)
}

/// Syncs a folder's entries to disk where the system allows it (so that a
/// rename survives a power cut); best effort.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Empties and removes the staging or set-aside folder `temp` of the
/// output folder `target`. A folder still marked as staging holds only
/// Agora's output and links of files in `target`: it goes whole. Otherwise
/// the entries its manifest lists and the links of files in `target` are
/// removed, and anything else (a file that appeared in `target` during a
/// switch) is moved into `target`; what cannot be moved stays, and is
/// named in the returned notes.
fn recover(temp: &Path, target: &Path) -> Result<Vec<String>> {
    if temp.join(STAGING_MARKER).exists() {
        fs::remove_dir_all(temp).map_err(|e| Error::io(temp, "removing", e))?;
        return Ok(Vec::new());
    }
    let manifest = Manifest::read(temp)?.unwrap_or_default();
    let mut kept = Vec::new();
    for entry in read_dir(temp)? {
        let name = entry.file_name();
        let path = entry.path();
        if name == MANIFEST {
            continue;
        }
        let at_target = target.join(&name);
        let gone = if manifest.contains(&name) || same_file(&path, &at_target).unwrap_or(false) {
            remove_entry(&path).map_err(|e| Error::io(&path, "removing", e))?;
            true
        } else if fs::symlink_metadata(&at_target).is_err() && fs::create_dir_all(target).is_ok() {
            fs::rename(&path, &at_target).is_ok()
        } else {
            false
        };
        if !gone {
            kept.push(path);
        }
    }
    if kept.is_empty() {
        let manifest_path = temp.join(MANIFEST);
        if manifest_path.exists() {
            fs::remove_file(&manifest_path)
                .map_err(|e| Error::io(&manifest_path, "removing", e))?;
        }
        fs::remove_dir(temp).map_err(|e| Error::io(temp, "removing", e))?;
        return Ok(Vec::new());
    }
    Ok(kept
        .iter()
        .map(|p| {
            format!(
                "{}: left in place: not written by Agora, and {} already has an entry of \
                 that name",
                p.display(),
                target.display()
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn temp_names_match_only_their_own_folder() {
        let n = OsStr::new("out");
        assert!(is_temp_name(OsStr::new(".out.agora-tmp-12-ab-0"), n));
        assert!(!is_temp_name(OsStr::new(".out.agora-tmp-"), n));
        assert!(!is_temp_name(OsStr::new(".out2.agora-tmp-1"), n));
        // The staging folders of `out.agora-tmp-1` are not `out`'s.
        assert!(!is_temp_name(OsStr::new(".out.agora-tmp-1.agora-tmp-5"), n));
        assert!(is_temp_name(
            OsStr::new(".out.agora-tmp-1.agora-tmp-5"),
            OsStr::new("out.agora-tmp-1")
        ));
    }

    #[test]
    fn a_manifest_names_only_entries_of_its_own_folder() {
        let p = Path::new("m");
        let hash = format!("sha256:{}", "a".repeat(64));
        let ok = format!("# c\nfile {hash} assets.csv\ndir plots\nfile {hash} plots/a.svg\n");
        let m = Manifest::parse(p, ok.as_bytes()).unwrap();
        assert_eq!(m.names().collect::<Vec<_>>(), ["assets.csv", "plots"]);
        assert_eq!(
            m.paths().collect::<Vec<_>>(),
            ["assets.csv", "plots", "plots/a.svg"]
        );
        assert_eq!(Manifest::parse(p, m.render().as_bytes()).unwrap(), m);
        for bad in [
            "dir ..".to_string(),
            "dir a/../b".to_string(),
            "dir a//b".to_string(),
            "dir a/".to_string(),
            "dir /etc".to_string(),
            "dir .".to_string(),
            "dir ".to_string(),
            format!("file {hash} ../x"),
            "file sha256:12 x".to_string(),
            "remove x".to_string(),
        ] {
            assert!(Manifest::parse(p, bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    /// Each file written is synced on a thread of its own, and the commit
    /// waits for them all: a sync that failed fails the commit, naming its
    /// file, and nothing is switched into place.
    #[test]
    fn the_commit_waits_for_every_files_sync_and_fails_on_one_that_failed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let mut out = OutputDir::open(&dir, &["a.csv", "b.csv", "c.csv"]).unwrap();
        out.write("a.csv", b"1").unwrap();
        let staged = out.create("b.csv").unwrap();
        out.close(staged).unwrap();
        out.write("c.csv", b"3").unwrap();
        assert_eq!(out.syncing.len(), 3);
        out.syncing.insert(
            1,
            (
                out.staging.join("b.csv"),
                Syncing::Done(Err(std::io::Error::other("disk gone"))),
            ),
        );
        let e = out.commit().unwrap_err().to_string();
        assert!(e.contains("b.csv") && e.contains("disk gone"), "{e}");
        assert!(!dir.join("a.csv").exists(), "nothing switched into place");

        let mut out = OutputDir::open(&dir, &["a.csv"]).unwrap();
        out.write("a.csv", b"1").unwrap();
        out.wait_for_syncs().unwrap();
        assert!(out.syncing.is_empty());
        out.commit().unwrap();
        assert_eq!(fs::read_to_string(dir.join("a.csv")).unwrap(), "1");
    }

    /// The fallback switch (two renames) leaves the same folder as the
    /// exchange.
    #[test]
    fn both_switches_replace_the_folder_and_keep_the_users_files() {
        for exchange in [true, false] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("out");
            let mut first = OutputDir::open(&dir, &["a.csv", "old.csv"]).unwrap();
            first.write("a.csv", b"1").unwrap();
            first.write("old.csv", b"old").unwrap();
            first.commit().unwrap();
            fs::write(dir.join("notes.txt"), "mine").unwrap();

            let mut second = OutputDir::open(&dir, &["a.csv"]).unwrap();
            second.write("a.csv", b"2").unwrap();
            // commit, by the chosen switch
            second.commit_with(exchange).unwrap();
            assert_eq!(names(&dir), [MANIFEST, "a.csv", "notes.txt"], "{exchange}");
            assert_eq!(fs::read_to_string(dir.join("a.csv")).unwrap(), "2");
            assert_eq!(fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
            assert_eq!(names(tmp.path()), ["out"], "nothing left beside it");
        }
    }

    /// The files of `dir` besides the manifest, with their content.
    fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        match fs::read_dir(dir) {
            Err(_) => BTreeMap::new(),
            Ok(rd) => rd
                .map(|e| e.unwrap())
                .filter(|e| e.file_name() != MANIFEST)
                .map(|e| {
                    let name = e.file_name().into_string().unwrap();
                    (name, fs::read(e.path()).unwrap())
                })
                .collect(),
        }
    }

    fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(n, c)| (n.to_string(), c.as_bytes().to_vec()))
            .collect()
    }

    #[cfg(unix)]
    fn inode(path: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(path).unwrap().ino()
    }

    /// A command killed at each step of a commit leaves in `DIR` the
    /// earlier results or the new ones (or, between the two renames of the
    /// fallback, no folder), never a mix; the next command cleans up what
    /// it left beside `DIR`, and the user's file is the same file throughout.
    #[test]
    fn a_command_killed_at_any_step_leaves_earlier_or_new_results_and_the_next_cleans_up() {
        let earlier = files(&[
            ("a.csv", "old a"),
            ("b.csv", "old b"),
            ("notes.txt", "mine"),
        ]);
        let new = files(&[("a.csv", "new a"), ("notes.txt", "mine")]);
        for stop in [
            "writing",
            "prepared",
            "exchanged",
            "renamed",
            "between renames",
        ] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("out");
            let mut first = OutputDir::open(&dir, &["a.csv", "b.csv"]).unwrap();
            first.write("a.csv", b"old a").unwrap();
            first.write("b.csv", b"old b").unwrap();
            first.commit().unwrap();
            fs::write(dir.join("notes.txt"), "mine").unwrap();
            #[cfg(unix)]
            let notes = inode(&dir.join("notes.txt"));
            assert_eq!(snapshot(&dir), earlier);

            let mut out = OutputDir::open(&dir, &["a.csv"]).unwrap();
            out.write("a.csv", b"new a").unwrap();
            let mut late = false;
            let seen = match stop {
                "writing" => {
                    out.kill();
                    snapshot(&dir)
                }
                "prepared" => {
                    out.prepare().unwrap();
                    out.kill();
                    snapshot(&dir)
                }
                "exchanged" | "renamed" => {
                    out.prepare().unwrap();
                    let old = out.switch_into_place(stop == "exchanged").unwrap();
                    // A file the user saved into the folder as it switched.
                    fs::write(old.join("late.txt"), "late").unwrap();
                    late = true;
                    out.kill();
                    snapshot(&dir)
                }
                _ => {
                    out.prepare().unwrap();
                    let aside = tmp.path().join(".out.agora-tmp-aside");
                    fs::rename(&dir, aside).unwrap();
                    out.kill();
                    assert!(!dir.exists(), "between the renames there is no folder");
                    BTreeMap::new()
                }
            };
            match stop {
                "writing" | "prepared" => assert_eq!(seen, earlier, "{stop}"),
                "exchanged" | "renamed" => assert_eq!(seen, new, "{stop}"),
                _ => {}
            }
            assert!(
                names(tmp.path()).len() > 1,
                "{stop}: a staging folder is left"
            );

            let mut next = OutputDir::open(&dir, &["a.csv"]).unwrap();
            assert!(next.notes().is_empty(), "{stop}: {:?}", next.notes());
            next.write("a.csv", b"next").unwrap();
            next.commit().unwrap();
            assert_eq!(names(tmp.path()), ["out"], "{stop}: nothing left beside it");
            let mut want = files(&[("a.csv", "next"), ("notes.txt", "mine")]);
            if late {
                want.insert("late.txt".into(), b"late".to_vec());
            }
            assert_eq!(snapshot(&dir), want, "{stop}");
            #[cfg(unix)]
            assert_eq!(
                inode(&dir.join("notes.txt")),
                notes,
                "{stop}: the same file"
            );
        }
    }

    #[test]
    fn a_second_command_into_a_locked_folder_fails_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let mut first = OutputDir::open(&dir, &["a.csv"]).unwrap();
        let err = OutputDir::open(&dir, &["a.csv"]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&dir.display().to_string()), "{text}");
        assert!(text.contains("another agora command"), "{text}");
        assert!(!err.is_input_error());
        // The refused command took nothing away from the first.
        first.write("a.csv", b"1").unwrap();
        first.commit().unwrap();
        assert_eq!(snapshot(&dir), files(&[("a.csv", "1")]));
        // Free again once the first is done.
        let again = OutputDir::open(&dir, &["a.csv"]).unwrap();
        drop(again);
        assert_eq!(snapshot(&dir), files(&[("a.csv", "1")]));
    }

    /// On Linux the switch is one atomic exchange, not the two renames of
    /// the fallback (between which the folder would be missing).
    #[cfg(target_os = "linux")]
    #[test]
    fn linux_exchanges_two_folders_in_one_step() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        fs::create_dir(&a).unwrap();
        fs::create_dir(&b).unwrap();
        fs::write(a.join("x"), "in a").unwrap();
        assert!(exchange_paths(&a, &b).unwrap());
        assert_eq!(fs::read_to_string(b.join("x")).unwrap(), "in a");
        assert!(!a.join("x").exists());
    }

    /// Files written inside a folder of the results are listed one by one
    /// (with their digests), so that a file of the user's put among them is
    /// refused rather than removed with the folder.
    #[test]
    fn files_inside_a_results_folder_are_listed_and_a_users_file_among_them_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let mut out = OutputDir::open(&dir, &["table.csv", "points"]).unwrap();
        out.write("table.csv", b"t").unwrap();
        std::thread::scope(|s| {
            for i in 0..3 {
                let out = &out;
                s.spawn(move || {
                    out.write_within(&format!("points/{i}/a.csv"), format!("a{i}").as_bytes())
                        .unwrap();
                });
            }
        });
        for bad in [
            "../x",
            "x",
            "points//x",
            "points/../x",
            "/points/x",
            ".agora-manifest/x",
        ] {
            assert!(out.write_within(bad, b"").is_err(), "{bad}");
        }
        let done = out.commit().unwrap();
        assert_eq!(done.paths, [dir.join("table.csv")], "only the top files");
        let m = Manifest::read(&dir).unwrap().unwrap();
        assert_eq!(
            m.paths().collect::<Vec<_>>(),
            [
                "points",
                "points/0",
                "points/0/a.csv",
                "points/1",
                "points/1/a.csv",
                "points/2",
                "points/2/a.csv",
                "table.csv"
            ]
        );
        assert_eq!(
            m.get("points/1/a.csv"),
            Some(&ManifestEntry::File {
                sha256: sha256(b"a1")
            })
        );
        assert_eq!(m.names().collect::<Vec<_>>(), ["points", "table.csv"]);

        // The user's file among Agora's: refused, naming it, nothing changed.
        fs::write(dir.join("points/1/mine.txt"), "mine").unwrap();
        let err = OutputDir::open(&dir, &["table.csv"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("points/1/mine.txt"), "{err}");
        assert_eq!(
            fs::read_to_string(dir.join("points/1/mine.txt")).unwrap(),
            "mine"
        );
        assert_eq!(names(tmp.path()), ["out"]);
        // A folder of the user's among Agora's too.
        fs::remove_file(dir.join("points/1/mine.txt")).unwrap();
        fs::create_dir(dir.join("points/3")).unwrap();
        let err = OutputDir::open(&dir, &["table.csv"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("points/3"), "{err}");
        fs::remove_dir(dir.join("points/3")).unwrap();

        // Without them, the next results replace the folder whole.
        let mut next = OutputDir::open(&dir, &["table.csv"]).unwrap();
        next.write("table.csv", b"u").unwrap();
        next.commit().unwrap();
        assert_eq!(names(&dir), [MANIFEST, "table.csv"]);
    }

    #[test]
    fn a_set_aside_folder_gives_back_what_appeared_during_the_switch() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("mine.txt"), "kept").unwrap();
        let temp = tmp.path().join(".out.agora-tmp-1");
        fs::create_dir(&temp).unwrap();
        let hash = sha256(b"x");
        fs::write(temp.join(MANIFEST), format!("file {hash} a.csv\n")).unwrap();
        fs::write(temp.join("a.csv"), "x").unwrap();
        fs::hard_link(target.join("mine.txt"), temp.join("mine.txt")).unwrap();
        fs::write(temp.join("late.txt"), "late").unwrap();
        assert!(recover(&temp, &target).unwrap().is_empty());
        assert!(!temp.exists());
        assert_eq!(names(&target), ["late.txt", "mine.txt"]);
        assert_eq!(fs::read_to_string(target.join("mine.txt")).unwrap(), "kept");
    }
}
