//! Bundle assembly: entries in creation order (MessageHeader first), each
//! with a `urn:uuid:` fullUrl; in a transaction every entry gets a request
//! that is safe to replay (conditional update on a business identifier, or
//! PUT to the deterministic id).

use super::json::Json;

use super::config::BundleType;
use super::ctx::Ctx;
use super::json::{set, set_opt, write_str, Obj};

/// `Bundle.meta` with the message-level access restrictions (ARV after
/// MSH), if there are any.
fn bundle_meta<'a>(ctx: &mut Ctx<'_, 'a>) -> Option<Json<'a>> {
    if ctx.bundle_security.is_empty() {
        return None;
    }
    let mut m = Obj::with_capacity(1);
    set(
        &mut m,
        "security",
        Json::Array(std::mem::take(&mut ctx.bundle_security)),
    );
    Some(Json::Object(m))
}

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
    let mut b = Obj::with_capacity(6);
    set(&mut b, "resourceType", "Bundle");
    if let Some(meta) = bundle_meta(ctx) {
        set(&mut b, "meta", meta);
    }
    set_opt(&mut b, "identifier", ctx.bundle_identifier.take());
    set(&mut b, "type", kind.code());
    set_opt(&mut b, "timestamp", ctx.timestamp.clone());
    set(&mut b, "entry", Json::Array(entries));
    Json::Object(b)
}

/// Writes the Bundle [`assemble`] would build straight to `out`, without
/// building it: the same bytes (the corpus test checks), but no entry,
/// request or URL objects to allocate, move and free, and no `prepend`
/// moving every resource's members to put `resourceType` and `id` first.
pub fn write(ctx: &mut Ctx<'_, '_>, out: &mut Vec<u8>) {
    let kind = ctx.cfg.bundle_type;
    let transaction = kind == BundleType::Transaction;
    out.extend_from_slice(b"{\"resourceType\":\"Bundle\"");
    if let Some(meta) = bundle_meta(ctx) {
        out.extend_from_slice(b",\"meta\":");
        meta.write(out);
    }
    if let Some(identifier) = ctx.bundle_identifier.take() {
        out.extend_from_slice(b",\"identifier\":");
        identifier.write(out);
    }
    out.extend_from_slice(b",\"type\":");
    write_str(kind.code(), out);
    if let Some(t) = &ctx.timestamp {
        out.extend_from_slice(b",\"timestamp\":");
        write_str(t, out);
    }
    out.extend_from_slice(b",\"entry\":[");
    let header = ctx.header.filter(|&h| h < ctx.entries.len());
    // the MessageHeader first, then the others in creation order (as
    // `assemble` orders them)
    let order = header
        .into_iter()
        .chain((0..ctx.entries.len()).filter(|&i| Some(i) != header));
    for (n, i) in order.enumerate() {
        let e = &ctx.entries[i];
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"fullUrl\":");
        write_str(&e.full_url, out);
        out.extend_from_slice(b",\"resource\":{\"resourceType\":");
        write_str(e.rtype, out);
        let conditional = transaction && e.conditional.is_some();
        if !conditional {
            out.extend_from_slice(b",\"id\":");
            write_str(&e.id, out);
        }
        for (k, v) in e.resource.iter() {
            // `prepend` replaced these members (an `id` only when it wrote one)
            if *k == "resourceType" || (!conditional && *k == "id") {
                continue;
            }
            out.push(b',');
            write_str(k, out);
            out.push(b':');
            v.write(out);
        }
        out.push(b'}');
        if transaction {
            out.extend_from_slice(b",\"request\":{\"method\":\"PUT\",\"url\":");
            match &e.conditional {
                Some(c) => write_str(c, out),
                None => {
                    out.extend_from_slice(b"\"");
                    // rtype and the UUID are ASCII letters, digits and '-'
                    out.extend_from_slice(e.rtype.as_bytes());
                    out.push(b'/');
                    out.extend_from_slice(e.id.as_bytes());
                    out.extend_from_slice(b"\"");
                }
            }
            out.push(b'}');
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}
