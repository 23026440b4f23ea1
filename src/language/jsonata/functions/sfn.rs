//! Step Functions' extra functions: `$hash`, `$uuid`, `$parse` (`$partition`, `$range` and
//! the seeded `$random` live with the array and numeric functions).

use md5::Digest;

use super::super::error::{json_quote, Error};
use super::super::eval::{Ctx, R};
use super::super::value::Val;
use super::numeric::random_f64;
use super::Builtin;

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Runs `$hash`, `$uuid` or `$parse`.
pub fn call<'a>(ctx: &Ctx<'a, '_>, b: Builtin, args: &[Val<'a>]) -> R<'a> {
    let arena = ctx.arena;
    let a = |i: usize| args.get(i).copied().unwrap_or(Val::Undef);
    match b {
        Builtin::Hash => {
            let Val::Str(data) = a(0) else {
                return Ok(Val::Undef);
            };
            let alg = a(1).as_str().unwrap_or("SHA-256");
            let digest = match alg {
                "MD5" => md5::Md5::digest(data.as_bytes()).to_vec(),
                "SHA-1" => sha1::Sha1::digest(data.as_bytes()).to_vec(),
                "SHA-256" => sha2::Sha256::digest(data.as_bytes()).to_vec(),
                "SHA-384" => sha2::Sha384::digest(data.as_bytes()).to_vec(),
                "SHA-512" => sha2::Sha512::digest(data.as_bytes()).to_vec(),
                other => {
                    return Err(Error::new("D3141").message(format!(
                        "Unsupported hashing algorithm {}. Supported algorithms: MD5, SHA-1, SHA-256, SHA-384, SHA-512",
                        json_quote(other)
                    )))
                }
            };
            Ok(Val::Str(arena.alloc_str(&hex(&digest))))
        }
        Builtin::Uuid => {
            let mut bytes = [0u8; 16];
            for chunk in bytes.chunks_mut(4) {
                let r = (random_f64() * 4_294_967_296.0) as u32;
                chunk.copy_from_slice(&r.to_be_bytes());
            }
            bytes[6] = (bytes[6] & 0x0f) | 0x40;
            bytes[8] = (bytes[8] & 0x3f) | 0x80;
            let h = hex(&bytes);
            let s = format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            );
            Ok(Val::Str(arena.alloc_str(&s)))
        }
        Builtin::Parse => {
            let Val::Str(text) = a(0) else {
                return Ok(Val::Undef);
            };
            match crate::value::parse(arena, text) {
                Ok(v) => Ok(Val::from_json(v)),
                Err(e) => Err(Error::new("D3141").message(format!("Unable to parse JSON string: {}", e.message))),
            }
        }
        _ => Ok(Val::Undef),
    }
}
