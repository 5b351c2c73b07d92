//! Entra ID's sign-in errors, in plain words.
//!
//! Entra answers a failed token request with an OAuth error (`error`) and
//! a description that starts with an `AADSTS` number. The number is what
//! tells an admin what to do, so it is pulled out and explained.

/// An error from the Entra token or device-code endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraError {
    /// The OAuth error (`invalid_grant`, `authorization_declined`, …).
    pub error: String,
    /// The `AADSTS` number, when the description has one.
    pub code: Option<u32>,
    /// The first line of Entra's description (the rest is trace ids and
    /// timestamps).
    pub description: String,
}

impl EntraError {
    pub fn new(error: &str, description: Option<&str>) -> EntraError {
        let description = description
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        EntraError {
            error: error.to_owned(),
            code: aadsts(&description),
            description,
        }
    }

    /// What the error means and what to do, when it is a common one.
    pub fn explanation(&self) -> Option<&'static str> {
        if let Some(e) = self.code.and_then(explain_code) {
            return Some(e);
        }
        Some(match self.error.as_str() {
            "authorization_declined" | "access_denied" => {
                "The sign-in was declined in the browser. Run the sign-in again and approve it."
            }
            "expired_token" => {
                "The code was not entered in time (device codes last about 15 minutes). \
                 Run the sign-in again."
            }
            "bad_verification_code" => {
                "Entra did not recognise the device code. Run the sign-in again."
            }
            _ => return None,
        })
    }
}

impl std::fmt::Display for EntraError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.description.is_empty() {
            write!(f, "Entra ID refused the sign-in ({})", self.error)?;
        } else {
            write!(f, "Entra ID refused the sign-in: {}", self.description)?;
        }
        if let Some(e) = self.explanation() {
            write!(f, "\n  What it means: {e}")?;
        }
        Ok(())
    }
}

/// The number after the first `AADSTS` in `s`.
pub fn aadsts(s: &str) -> Option<u32> {
    let i = s.find("AADSTS")?;
    let digits: String = s[i + 6..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Plain words for the `AADSTS` codes an admin is likely to meet here.
pub fn explain_code(code: u32) -> Option<&'static str> {
    Some(match code {
        53003 => {
            "A Conditional Access policy blocked this sign-in (for example, sign-ins only \
             from managed devices or named locations, or device code flow blocked). Sign in \
             from a place the policy allows, use --browser if device code flow is what is \
             blocked, or ask whoever owns Conditional Access for an exception."
        }
        65001 => {
            "Nobody has consented to this application's permissions in your tenant. An \
             administrator must grant admin consent for Chat.ReadWrite.All and \
             User.ReadBasic.All (and AuditLogsQuery.Read.All, to fetch the audit log) to the \
             client id in use (Enterprise applications in the Entra admin center), or sign in \
             once as an admin and consent for the organisation."
        }
        7000218 => {
            "The application does not allow public client flows, which device code and \
             browser sign-in without a secret need. Use the default client id, or turn on \
             'Allow public client flows' in the app registration's Authentication page."
        }
        90002 => {
            "The tenant was not found. Check --tenant (a tenant GUID or one of its domains), \
             and --cloud: a US Government tenant is not known to the global cloud."
        }
        90038 => {
            "The tenant belongs to another cloud. Use --cloud usgov or --cloud dod for US \
             Government tenants (and global for the others)."
        }
        700082 | 700084 | 50173 => {
            "The saved session has expired (the refresh token is no longer valid): sign in \
             again."
        }
        50076 | 50079 => {
            "Your tenant requires multi-factor authentication for this sign-in. Run the \
             sign-in again and complete MFA in the browser."
        }
        50020 | 500200 => {
            "This account is not a member of the tenant it signed in to. Sign in with an \
             account of your own tenant, or pass --tenant."
        }
        700016 => {
            "The application (client id) was not found in the tenant. Check --client-id, or \
             the tenant and cloud."
        }
        70011 => {
            "Entra refused the requested scopes. A custom client id needs the delegated \
             Microsoft Graph permissions Chat.ReadWrite.All and User.ReadBasic.All."
        }
        50126 => "Wrong user name or password.",
        50057 => "The account is disabled.",
        70016 => "The sign-in has not been completed yet.",
        70019 | 70020 => {
            "The code was not entered in time (device codes last about 15 minutes). Run the \
             sign-in again."
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_come_out_of_descriptions() {
        let e = EntraError::new(
            "invalid_grant",
            Some(
                "AADSTS700082: The refresh token has expired due to inactivity.\r\nTrace ID: 1\r\nCorrelation ID: 2",
            ),
        );
        assert_eq!(e.code, Some(700082));
        assert_eq!(
            e.description,
            "AADSTS700082: The refresh token has expired due to inactivity."
        );
        assert!(e.to_string().contains("sign in again"));
        assert_eq!(aadsts("no code"), None);
    }

    #[test]
    fn every_named_code_is_explained() {
        for c in [53003, 65001, 7000218, 90002, 90038, 700082] {
            assert!(explain_code(c).is_some(), "{c}");
        }
        let d = EntraError::new("authorization_declined", Some("AADSTS70000: declined"));
        assert!(d.explanation().unwrap().contains("declined"));
    }
}
