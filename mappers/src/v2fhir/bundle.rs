//! Bundle assembly: entries in creation order (MessageHeader first), each
//! with a `urn:uuid:` fullUrl; in a transaction every entry gets a request
//! that is safe to replay (conditional update on a business identifier, or
//! PUT to the deterministic id).

use super::json::Json;

use super::config::BundleType;
use super::ctx::Ctx;
use super::json::{set, set_opt, Obj};

/// Builds the Bundle from everything `ctx` collected.
pub fn assemble<'a>(ctx: &mut Ctx<'_, 'a>) -> Json<'a> {
    let kind = ctx.cfg.bundle_type;
    let mut entries = Vec::with_capacity(ctx.entries.len());
    let mut all: Vec<_> = ctx.entries.drain(..).collect();
    if let Some(h) = ctx.header.filter(|&h| h < all.len()) {
        // a message Bundle starts with its MessageHeader; the same order
        // everywhere keeps the output of all types alike
        let header = all.remove(h);
        all.insert(0, header);
    }
    for e in all {
        let mut r = e.resource;
        let conditional = kind == BundleType::Transaction && e.conditional.is_some();
        if !conditional {
            r.prepend("id", Json::from(e.id.clone()));
        }
        r.prepend("resourceType", Json::from(e.rtype));
        let mut entry = Obj::with_capacity(3);
        set(&mut entry, "fullUrl", e.full_url);
        set(&mut entry, "resource", r);
        if kind == BundleType::Transaction {
            let mut req = Obj::with_capacity(2);
            set(&mut req, "method", "PUT");
            let url = match e.conditional {
                Some(c) => c,
                None => {
                    let mut u = String::with_capacity(e.rtype.len() + 1 + e.id.len());
                    u.push_str(e.rtype);
                    u.push('/');
                    u.push_str(&e.id);
                    u
                }
            };
            set(&mut req, "url", url);
            set(&mut entry, "request", req);
        }
        entries.push(Json::Object(entry));
    }
    let mut b = Obj::with_capacity(5);
    set(&mut b, "resourceType", "Bundle");
    set_opt(&mut b, "identifier", ctx.bundle_identifier.take());
    set(&mut b, "type", kind.code());
    set_opt(&mut b, "timestamp", ctx.timestamp.clone());
    set(&mut b, "entry", Json::Array(entries));
    Json::Object(b)
}
