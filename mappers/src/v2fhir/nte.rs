//! NTE -> Annotation on the resource of the preceding segment (IG
//! NTE[Observation], NTE[ServiceRequest]); an NTE after a segment whose
//! resource has no `note` element is reported unmapped.

use std::borrow::Cow;

use super::ctx::{txt, Ctx, Seg, ALL};
use super::json::{push, set, Obj};

/// Maps NTE.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(target) = ctx.note_target else {
        return;
    };
    let lines: Vec<Cow<'_, str>> = seg.peek(3).repetitions().filter_map(txt).collect();
    if lines.is_empty() {
        return;
    }
    seg.mark(3, ALL);
    seg.mark(1, ALL);
    seg.mark(2, ALL); // source of comment: no Annotation element for it
    let mut a = Obj::new();
    set(&mut a, "text", lines.join("\n"));
    push(ctx.res(target), "note", a);
}
