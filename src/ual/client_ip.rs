//! `ClientIP`. It differs from record to record (in a large export three
//! quarters of the distinct strings were client addresses), so interning
//! it only filled the string pool and its lookup table, and made the
//! thread that merges the workers' pools the slowest step of a load. The
//! forms nearly every record has, an IPv4 address with or without a port,
//! possibly written as an IPv4-mapped IPv6 address, are packed into eight
//! bytes; anything else (IPv6, a bracketed address, a name, a value with
//! leading zeros) is interned as written. Packed or not, the text given
//! back is exactly the text read.

use super::pool::{Pool, Sym};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientIp {
    V4 {
        octets: [u8; 4],
        /// The port after the address; 0 when there is none (a written
        /// port 0 is not packed).
        port: u16,
        /// Written as `::ffff:a.b.c.d`.
        mapped: bool,
    },
    Text(Sym),
}

/// The `::ffff:` prefix of an IPv4-mapped IPv6 address, as Exchange and
/// Teams write it.
const MAPPED: &str = "::ffff:";

/// The longest packed text: `::ffff:255.255.255.255:65535`.
const MAX_LEN: usize = MAPPED.len() + 15 + 6;

impl ClientIp {
    /// `text` packed, when it is in a form that is written back byte for
    /// byte; `None` for anything else (the caller interns it).
    pub fn pack(text: &str) -> Option<ClientIp> {
        let (mapped, rest) = match text.strip_prefix(MAPPED) {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (address, port) = match rest.split_once(':') {
            Some((address, port)) => (address, Some(port)),
            None => (rest, None),
        };
        let mut parts = address.split('.');
        let mut octets = [0u8; 4];
        for o in &mut octets {
            *o = u8::try_from(decimal(parts.next()?)?).ok()?;
        }
        if parts.next().is_some() {
            return None;
        }
        let port = match port {
            Some(p) => u16::try_from(decimal(p)?).ok().filter(|&p| p != 0)?,
            None => 0,
        };
        Some(ClientIp::V4 {
            octets,
            port,
            mapped,
        })
    }

    /// The address as it was written.
    pub fn text<'a>(&self, pool: &'a Pool) -> IpText<'a> {
        match *self {
            ClientIp::Text(s) => IpText::Text(pool.resolve(s)),
            ClientIp::V4 {
                octets,
                port,
                mapped,
            } => {
                let (mut buf, mut len) = ([0u8; MAX_LEN], 0usize);
                let mut push = |bytes: &[u8]| {
                    buf[len..len + bytes.len()].copy_from_slice(bytes);
                    len += bytes.len();
                };
                if mapped {
                    push(MAPPED.as_bytes());
                }
                for (k, o) in octets.iter().enumerate() {
                    if k > 0 {
                        push(b".");
                    }
                    push(digits(u32::from(*o)).as_slice());
                }
                if port != 0 {
                    push(b":");
                    push(digits(u32::from(port)).as_slice());
                }
                IpText::Packed {
                    buf,
                    len: len as u8,
                }
            }
        }
    }

    /// The interned handle, for an address kept as text.
    pub fn sym(&self) -> Option<Sym> {
        match *self {
            ClientIp::Text(s) => Some(s),
            ClientIp::V4 { .. } => None,
        }
    }
}

/// A decimal number written without a sign or leading zeros (`0` itself
/// is fine), at most five digits: exactly what [`digits`] writes back.
fn decimal(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 5 || (b[0] == b'0' && b.len() > 1) {
        return None;
    }
    b.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// The decimal digits of `n` (below 100,000).
fn digits(mut n: u32) -> Digits {
    let mut buf = [0u8; 5];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    Digits { buf, at }
}

struct Digits {
    buf: [u8; 5],
    at: usize,
}

impl Digits {
    fn as_slice(&self) -> &[u8] {
        &self.buf[self.at..]
    }
}

/// The text of a [`ClientIp`], without allocating.
pub enum IpText<'a> {
    Packed { buf: [u8; MAX_LEN], len: u8 },
    Text(&'a str),
}

impl std::ops::Deref for IpText<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            IpText::Packed { buf, len } => {
                std::str::from_utf8(&buf[..*len as usize]).expect("digits, dots and colons")
            }
            IpText::Text(t) => t,
        }
    }
}

impl std::fmt::Debug for IpText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl serde::Serialize for IpText<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(text: &str) -> Option<String> {
        let pool = Pool::default();
        ClientIp::pack(text).map(|ip| ip.text(&pool).to_string())
    }

    #[test]
    fn the_usual_forms_are_packed_and_written_back() {
        for t in [
            "203.0.113.5",
            "0.0.0.0",
            "255.255.255.255",
            "185.73.124.135:64581",
            "20.190.1.2:1",
            "::ffff:52.114.88.180",
            "::ffff:255.255.255.255:65535",
        ] {
            assert_eq!(round_trip(t).as_deref(), Some(t), "{t}");
        }
        assert_eq!(
            ClientIp::pack("10.1.2.3:443"),
            Some(ClientIp::V4 {
                octets: [10, 1, 2, 3],
                port: 443,
                mapped: false
            })
        );
        assert_eq!("::ffff:255.255.255.255:65535".len(), MAX_LEN);
    }

    #[test]
    fn anything_else_is_left_to_the_pool() {
        for t in [
            "",
            "2001:db8::1038",
            "[2001:db8::1]:443",
            "::FFFF:1.2.3.4",
            "::ffff:1.2.3",
            "01.2.3.4",
            "1.2.3.04",
            "256.1.1.1",
            "1.2.3.4.5",
            "1.2.3.4:",
            "1.2.3.4:0",
            "1.2.3.4:65536",
            "1.2.3.4:0443",
            "1.2.3.4:80:80",
            "+1.2.3.4",
            " 1.2.3.4",
            "1.2.3.4 ",
            "<null>",
            "host.example.com",
            "1..3.4",
        ] {
            assert_eq!(ClientIp::pack(t), None, "{t:?}");
        }
    }

    #[test]
    fn a_kept_text_resolves_through_the_pool() {
        let mut pool = Pool::default();
        let s = pool.get_or_intern("2001:db8::42");
        let ip = ClientIp::Text(s);
        assert_eq!(&*ip.text(&pool), "2001:db8::42");
        assert_eq!(ip.sym(), Some(s));
    }

    proptest! {
        /// Whatever is packed comes back byte for byte, and every address
        /// std writes (with any port but 0) is packed.
        #[test]
        fn packed_text_comes_back_exactly(
            text in "(::ffff:)?[0-9]{1,4}(\\.[0-9]{1,4}){2,4}(:[0-9]{0,6}){0,2}",
            octets in any::<[u8; 4]>(),
            port in any::<u16>(),
        ) {
            if let Some(back) = round_trip(&text) {
                prop_assert_eq!(back, text);
            }
            let addr = std::net::Ipv4Addr::from(octets).to_string();
            prop_assert_eq!(round_trip(&addr), Some(addr.clone()));
            let with_port = format!("{addr}:{port}");
            let want = (port != 0).then(|| with_port.clone());
            prop_assert_eq!(round_trip(&with_port), want);
        }
    }
}
