//! The token cache: the signed-in account and its refresh token, in a
//! file only its owner can read.
//!
//! The access token is never written: it lasts an hour and one refresh
//! gets a new one. The file is replaced atomically (written to a 0600
//! temporary file in the same directory, then renamed), so a crash never
//! leaves half a cache, and a cache that others can read is refused
//! rather than used, since anyone holding the refresh token can act as
//! the admin.

use std::io::Write;
use std::path::{Path, PathBuf};

use oauth2::RefreshToken;
use serde::{Deserialize, Serialize};

/// The format's version; other versions are ignored (sign in again).
const CACHE_VERSION: u32 = 1;

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The sign-in name (`preferred_username`).
    pub username: String,
    pub name: Option<String>,
    /// The tenant the token is for (`tid`).
    pub tenant_id: String,
    /// The account's object id (`oid`).
    pub object_id: Option<String>,
}

/// What is kept between runs.
#[derive(Clone, Serialize, Deserialize)]
pub struct Cached {
    pub version: u32,
    /// Where the session was made: the authority, tenant and client.
    pub login_url: String,
    pub tenant: String,
    pub client_id: String,
    pub account: Account,
    pub refresh_token: RefreshToken,
}

impl std::fmt::Debug for Cached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cached")
            .field("login_url", &self.login_url)
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("account", &self.account)
            .field("refresh_token", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(
        "refusing to use the token cache {path}: other users can read it (mode {mode:o}). \
         Run `chmod 600 {path}` if you trust it, or delete it and sign in again"
    )]
    Readable { path: PathBuf, mode: u32 },
    #[error("cannot read the token cache {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct TokenCache {
    path: PathBuf,
}

impl TokenCache {
    pub fn new(path: PathBuf) -> TokenCache {
        TokenCache { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved session, if there is a usable one. A file of another
    /// format version, or one that does not parse, counts as none.
    pub fn load(&self) -> Result<Option<Cached>, CacheError> {
        let io = |source| CacheError::Io {
            path: self.path.clone(),
            source,
        };
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        check_private(&self.path, &meta)?;
        let text = std::fs::read(&self.path).map_err(io)?;
        Ok(serde_json::from_slice::<Cached>(&text)
            .ok()
            .filter(|c| c.version == CACHE_VERSION))
    }

    /// Replaces the saved session.
    pub fn save(&self, c: &Cached) -> Result<(), CacheError> {
        let io = |source| CacheError::Io {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        crate::files::create_private_dir(dir).map_err(io)?;
        let mut b = tempfile::Builder::new();
        b.prefix(".token-cache");
        #[cfg(unix)]
        b.permissions(private_file());
        let mut tmp = b.tempfile_in(dir).map_err(io)?;
        let mut c = c.clone();
        c.version = CACHE_VERSION;
        serde_json::to_writer(&mut tmp, &c).map_err(|e| io(e.into()))?;
        tmp.flush().map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(&self.path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// Deletes the saved session; `false` if there was none.
    pub fn delete(&self) -> Result<bool, CacheError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(CacheError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<(), CacheError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CacheError::Readable {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path, _: &std::fs::Metadata) -> Result<(), CacheError> {
    Ok(())
}

#[cfg(unix)]
fn private_file() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Cached {
        Cached {
            version: CACHE_VERSION,
            login_url: "https://login.microsoftonline.com/".into(),
            tenant: "organizations".into(),
            client_id: "14d82eec-204b-4c2f-b7e8-296a70dab67e".into(),
            account: Account {
                username: "admin@contoso.com".into(),
                name: Some("Admin".into()),
                tenant_id: "9188040d-6c67-4c5b-b112-36a304b66dad".into(),
                object_id: None,
            },
            refresh_token: RefreshToken::new("secret-refresh".into()),
        }
    }

    #[test]
    fn saves_private_and_loads_back() {
        let d = tempfile::tempdir().unwrap();
        let c = TokenCache::new(d.path().join("state/token-cache.json"));
        assert!(c.load().unwrap().is_none());
        c.save(&sample()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(c.path()).unwrap().permissions().mode();
            assert_eq!(m & 0o777, 0o600);
        }
        let back = c.load().unwrap().unwrap();
        assert_eq!(back.account, sample().account);
        assert_eq!(back.refresh_token.secret(), "secret-refresh");
        assert!(!format!("{back:?}").contains("secret-refresh"));
        assert!(c.delete().unwrap());
        assert!(!c.delete().unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn a_cache_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let c = TokenCache::new(d.path().join("token-cache.json"));
        c.save(&sample()).unwrap();
        std::fs::set_permissions(c.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = c.load().unwrap_err().to_string();
        assert!(e.contains("other users can read it"), "{e}");
        assert!(!e.contains("secret-refresh"));
    }
}
