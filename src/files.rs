//! Files the tool writes: private directories and files (0700 and 0600
//! whatever the umask: sessions, journals, logs and plans name a tenant's
//! users), and files written whole or not at all. Errors name the
//! destination the user asked for, never a temporary file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Creates `dir` (and its parents) readable by its owner only.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// `e`, saying which file it was about. (tempfile's errors name the
/// temporary file; the operating system's own words are kept instead.)
pub fn named(path: &Path, e: std::io::Error) -> std::io::Error {
    // tempfile wraps the operating system's error in a private type whose
    // text is "<the error> at path <the temporary file>" and which hides
    // the code, so the words before the temporary path are kept.
    let why = match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code).to_string(),
        None => {
            let text = e.to_string();
            match text.split_once(" at path ") {
                Some((why, _)) => why.to_owned(),
                None => e.kind().to_string(),
            }
        }
    };
    std::io::Error::new(e.kind(), format!("{}: {why}", path.display()))
}

/// Opens `path` for appending, creating it with mode 0600 (a mode the
/// umask can only narrow).
pub fn open_private_append(path: &Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk
/// and renames it over `path`: the file is whole or absent. `private`
/// makes it 0600 (the temporary file is always 0600; a plan the user
/// names keeps the usual mode of a new file).
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    write_atomic_with(path, private, |w| w.write_all(bytes))
}

/// As [`write_atomic`], with the content written by `fill` (a file too
/// large to hold in memory, copied in from elsewhere).
pub fn write_atomic_with(
    path: &Path,
    private: bool,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let err = |e| named(path, e);
    // `-o /dev/null`, a FIFO or a terminal: written into, never replaced
    // (renaming over /dev/null as root would replace the device).
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
    {
        if meta.is_dir() {
            return Err(err(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "is a directory",
            )));
        }
        let mut f = OpenOptions::new().write(true).open(path).map_err(err)?;
        let mut w = std::io::BufWriter::new(&mut f);
        return fill(&mut w).and_then(|()| w.flush()).map_err(err);
    }
    // A symbolic link keeps pointing where it did: its target is replaced.
    let resolved;
    let path = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            resolved = std::fs::canonicalize(path).map_err(err)?;
            resolved.as_path()
        }
        _ => path,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".chatevict")
        .tempfile_in(dir)
        .map_err(err)?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        fill(&mut w).and_then(|()| w.flush()).map_err(err)?;
    }
    #[cfg(unix)]
    if !private {
        use std::os::unix::fs::PermissionsExt;
        // What a file created by `open` would get: 0666 less the umask.
        let mode = 0o666 & !umask();
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(err)?;
    }
    #[cfg(not(unix))]
    let _ = private;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// The process's umask: std has no getter, and setting it to read it
/// back would race with other threads creating files; Linux shows it in
/// /proc.
#[cfg(unix)]
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn written_whole_and_errors_name_the_destination() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("plan.json");
        write_atomic(&p, b"{}\n", true).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"{}\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // A symbolic link still points at the (new) file.
        let link = d.path().join("link.json");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        write_atomic(&link, b"[]\n", true).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&p).unwrap(), b"[]\n");
        // A FIFO is written into, not replaced.
        let fifo = d.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(&fifo).unwrap())
        };
        write_atomic(&fifo, b"through\n", false).unwrap();
        assert_eq!(reader.join().unwrap(), b"through\n");
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        let missing = d.path().join("no/such dir at path x/plan.json");
        let e = write_atomic(&missing, b"x", false).unwrap_err();
        assert!(
            e.to_string().contains("no/such dir at path x/plan.json"),
            "{e}"
        );
        assert!(!e.to_string().contains(".chatevict"), "{e}");
        // In the operating system's words, as any other tool would say it.
        let enoent = std::io::Error::from_raw_os_error(2).to_string();
        assert!(e.to_string().ends_with(&enoent), "{e}");
    }
}
