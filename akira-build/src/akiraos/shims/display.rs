//! The display shims. `akira:display` refuses (and counts) a primitive
//! not wholly inside the app's region; AkiraOS clips. The shapes Akira has
//! no primitive for (circles, rounded rectangles, progress bars, numbers,
//! colour-keyed bitmaps) are drawn here as boxes (`akira:display.rect`)
//! clipped to the screen, so a shape partly off the screen draws its
//! visible part, and a call outside the grant stops at its first denied
//! box (one denial, `-EPERM`).

use wasm_encoder::{BlockType, Instruction as I, MemArg, ValType};

use super::{A4, EFAULT, EINVAL, Gen, Helper, Need, Spec, spec};
use Helper::{Errno, Fits, Strlen};
use Need::Display;

const SIZE_AND_RECT: &[(&str, &str)] = &[("akira:display", "size"), ("akira:display", "rect")];

/// `(x, y, w, h, color, filled)` for `akira:display.rect`.
fn rect(g: &mut Gen<'_>, filled: i32) {
    g.p(0).p(1).p(2).p(3).p(4).c(filled).call("akira:display", "rect").errno();
}

/// One side of a triangle; the first failure is kept in local `first`.
fn line3(g: &mut Gen<'_>, first: u32, (a, b): (u32, u32), (c, d): (u32, u32)) {
    let r = g.local(ValType::I32);
    g.p(a).p(b).p(c).p(d).p(6).call("akira:display", "line").o(I::LocalSet(r));
    g.o(I::LocalGet(first)).o(I::I32Eqz).o(I::If(BlockType::Empty));
    g.o(I::LocalGet(r)).o(I::LocalSet(first)).o(I::End);
}

/// A value a box edge is computed from: a local, or a local plus or minus
/// another.
#[derive(Clone, Copy)]
enum E {
    L(u32),
    Add(u32, u32),
    Sub(u32, u32),
}

/// The locals a clipped drawing uses: the screen's size, the box's
/// corners and a result.
struct Canvas {
    w: u32,
    h: u32,
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    r: u32,
}

impl Gen<'_> {
    fn e(&mut self, e: E) -> &mut Self {
        match e {
            E::L(a) => self.o(I::LocalGet(a)),
            E::Add(a, b) => self.o(I::LocalGet(a)).o(I::LocalGet(b)).o(I::I32Add),
            E::Sub(a, b) => self.o(I::LocalGet(a)).o(I::LocalGet(b)).o(I::I32Sub),
        }
    }

    /// Returns the i32 on the stack as `-errno` unless it is 0.
    fn or_return(&mut self, r: u32) -> &mut Self {
        self.o(I::LocalTee(r)).o(I::If(BlockType::Empty)).o(I::LocalGet(r)).errno().o(I::Return).o(I::End)
    }

    /// Reads the screen's size into new locals (or returns its error).
    fn canvas(&mut self) -> Canvas {
        let [w, h, x0, y0, x1, y1, r] = [(); 7].map(|()| self.local(ValType::I32));
        self.call("akira:display", "size").o(I::LocalTee(w)).c(0).o(I::I32LtS);
        self.o(I::If(BlockType::Empty)).o(I::LocalGet(w)).errno().o(I::Return).o(I::End);
        self.o(I::LocalGet(w)).c(0xffff).o(I::I32And).o(I::LocalSet(h));
        self.o(I::LocalGet(w)).c(16).o(I::I32ShrU).o(I::LocalSet(w));
        Canvas { w, h, x0, y0, x1, y1, r }
    }

    /// `local = max(local, 0)` (signed).
    fn at_least_zero(&mut self, l: u32) -> &mut Self {
        self.o(I::LocalGet(l)).c(0).o(I::I32LtS).o(I::If(BlockType::Empty)).c(0).o(I::LocalSet(l)).o(I::End)
    }

    /// `local = min(local, limit)` (signed).
    pub(super) fn at_most(&mut self, l: u32, limit: u32) -> &mut Self {
        self.o(I::LocalGet(l)).o(I::LocalGet(limit)).o(I::I32GtS);
        self.o(I::If(BlockType::Empty)).o(I::LocalGet(limit)).o(I::LocalSet(l)).o(I::End)
    }

    /// The filled box from `(left, top)` to `(right, bottom)`, both
    /// included, cut to the screen; nothing when none of it is on it.
    fn clipped_box(&mut self, c: &Canvas, (left, right): (E, E), (top, bottom): (E, E), color: E) -> &mut Self {
        self.e(left).o(I::LocalSet(c.x0)).e(right).c(1).o(I::I32Add).o(I::LocalSet(c.x1));
        self.e(top).o(I::LocalSet(c.y0)).e(bottom).c(1).o(I::I32Add).o(I::LocalSet(c.y1));
        self.at_least_zero(c.x0).at_least_zero(c.y0).at_most(c.x1, c.w).at_most(c.y1, c.h);
        self.o(I::LocalGet(c.x1)).o(I::LocalGet(c.x0)).o(I::I32GtS);
        self.o(I::LocalGet(c.y1)).o(I::LocalGet(c.y0)).o(I::I32GtS).o(I::I32And).o(I::If(BlockType::Empty));
        self.o(I::LocalGet(c.x0)).o(I::LocalGet(c.y0));
        self.o(I::LocalGet(c.x1))
            .o(I::LocalGet(c.x0))
            .o(I::I32Sub)
            .o(I::LocalGet(c.y1))
            .o(I::LocalGet(c.y0))
            .o(I::I32Sub);
        self.e(color).c(1).call("akira:display", "rect").or_return(c.r).o(I::End)
    }

    /// A rounded box: quarter circles of radius `r` centred on the
    /// corners `(xl|xr, yt|yb)` of an inner rectangle, joined (a circle
    /// when the corners are one point). Outline or filled, by the
    /// midpoint circle algorithm (no multiplication, no square root).
    fn rounded_box(&mut self, c: &Canvas, [xl, xr, yt, yb, r]: [u32; 5], color: u32, filled: bool) {
        let [a, b, err, t] = [(); 4].map(|()| self.local(ValType::I32));
        let color = E::L(color);
        // The straight parts: edges, or the middle band.
        self.o(I::LocalGet(yt)).o(I::LocalGet(r)).o(I::I32Sub).o(I::LocalSet(t));
        if filled {
            self.clipped_box(c, (E::Sub(xl, r), E::Add(xr, r)), (E::L(yt), E::L(yb)), color);
        } else {
            self.clipped_box(c, (E::L(xl), E::L(xr)), (E::L(t), E::L(t)), color);
            self.clipped_box(c, (E::L(xl), E::L(xr)), (E::Add(yb, r), E::Add(yb, r)), color);
            self.o(I::LocalGet(xl)).o(I::LocalGet(r)).o(I::I32Sub).o(I::LocalSet(t));
            self.clipped_box(c, (E::L(t), E::L(t)), (E::L(yt), E::L(yb)), color);
            self.clipped_box(c, (E::Add(xr, r), E::Add(xr, r)), (E::L(yt), E::L(yb)), color);
        }
        // a = r, b = 0, err = 1 - r; while b <= a.
        self.o(I::LocalGet(r)).o(I::LocalSet(a)).c(1).o(I::LocalGet(r)).o(I::I32Sub).o(I::LocalSet(err));
        self.o(I::Block(BlockType::Empty)).o(I::Loop(BlockType::Empty));
        self.o(I::LocalGet(b)).o(I::LocalGet(a)).o(I::I32GtS).o(I::BrIf(1));
        for (u, v) in [(a, b), (b, a)] {
            if filled {
                // Rows yb + v and yt - v, from xl - u to xr + u.
                self.clipped_box(c, (E::Sub(xl, u), E::Add(xr, u)), (E::Add(yb, v), E::Add(yb, v)), color);
                self.clipped_box(c, (E::Sub(xl, u), E::Add(xr, u)), (E::Sub(yt, v), E::Sub(yt, v)), color);
            } else {
                for x in [E::Add(xr, u), E::Sub(xl, u)] {
                    for y in [E::Add(yb, v), E::Sub(yt, v)] {
                        self.clipped_box(c, (x, x), (y, y), color);
                    }
                }
            }
        }
        self.o(I::LocalGet(b)).c(1).o(I::I32Add).o(I::LocalSet(b));
        self.o(I::LocalGet(err)).c(0).o(I::I32LtS).o(I::If(BlockType::Empty));
        self.o(I::LocalGet(err)).o(I::LocalGet(b)).c(1).o(I::I32Shl).o(I::I32Add).c(1).o(I::I32Add).o(I::LocalSet(err));
        self.o(I::Else).o(I::LocalGet(a)).c(1).o(I::I32Sub).o(I::LocalSet(a));
        self.o(I::LocalGet(err)).o(I::LocalGet(b)).o(I::LocalGet(a)).o(I::I32Sub).c(1).o(I::I32Shl).o(I::I32Add);
        self.c(1).o(I::I32Add).o(I::LocalSet(err)).o(I::End);
        self.o(I::Br(0)).o(I::End).o(I::End);
    }

    /// A filled triangle (params x0, y0, x1, y1, x2, y2, color): one row
    /// per line from the top vertex to the bottom one, between the long
    /// edge and the other two, in integers (no FPU), cut to the screen.
    fn triangle_fill(&mut self) {
        let [ax, ay, bx, by, cx, cy, y, xa, xb, t] = [(); 10].map(|()| self.local(ValType::I32));
        for (i, l) in [ax, ay, bx, by, cx, cy].into_iter().enumerate() {
            self.p(i as u32).o(I::LocalSet(l));
        }
        // Sorted by y: a on top, c at the bottom.
        for ((px, py), (qx, qy)) in [((ax, ay), (bx, by)), ((bx, by), (cx, cy)), ((ax, ay), (bx, by))] {
            self.o(I::LocalGet(py)).o(I::LocalGet(qy)).o(I::I32GtS).o(I::If(BlockType::Empty));
            self.swap(px, qx, t).swap(py, qy, t).o(I::End);
        }
        let c = self.canvas();
        // Rows below the screen are not drawn: start at the top one.
        self.o(I::LocalGet(ay)).o(I::LocalSet(y)).at_least_zero(y);
        self.o(I::Block(BlockType::Empty)).o(I::Loop(BlockType::Empty));
        self.o(I::LocalGet(y)).o(I::LocalGet(cy)).o(I::I32GtS).o(I::LocalGet(y)).o(I::LocalGet(c.h)).o(I::I32GeS);
        self.o(I::I32Or).o(I::BrIf(1));
        // The long edge a-c, then a-b above b and b-c from b on (a flat
        // edge takes its end: the row is then the whole edge).
        self.edge_x(xa, (ax, ay), (cx, cy), y);
        self.o(I::LocalGet(y)).o(I::LocalGet(by)).o(I::I32LtS).o(I::If(BlockType::Empty));
        self.edge_x(xb, (ax, ay), (bx, by), y);
        self.o(I::Else);
        self.edge_x(xb, (bx, by), (cx, cy), y);
        self.o(I::End);
        self.o(I::LocalGet(xa)).o(I::LocalGet(xb)).o(I::I32GtS).o(I::If(BlockType::Empty));
        self.swap(xa, xb, t).o(I::End);
        self.clipped_box(&c, (E::L(xa), E::L(xb)), (E::L(y), E::L(y)), E::L(6));
        self.o(I::LocalGet(y)).c(1).o(I::I32Add).o(I::LocalSet(y)).o(I::Br(0)).o(I::End).o(I::End);
        // A triangle flat on one row: its whole width (the loop drew the
        // long edge's end only).
        self.o(I::LocalGet(ay)).o(I::LocalGet(cy)).o(I::I32Eq).o(I::If(BlockType::Empty));
        for (l, op) in [(xa, I::I32LtS), (xb, I::I32GtS)] {
            self.o(I::LocalGet(ax)).o(I::LocalSet(l));
            for x in [bx, cx] {
                self.o(I::LocalGet(x)).o(I::LocalGet(l)).o(op.clone()).o(I::If(BlockType::Empty));
                self.o(I::LocalGet(x)).o(I::LocalSet(l)).o(I::End);
            }
        }
        self.clipped_box(&c, (E::L(xa), E::L(xb)), (E::L(ay), E::L(ay)), E::L(6)).o(I::End);
        self.c(0);
    }

    /// Swaps locals `p` and `q` through `t`.
    fn swap(&mut self, p: u32, q: u32, t: u32) -> &mut Self {
        self.o(I::LocalGet(p)).o(I::LocalSet(t)).o(I::LocalGet(q)).o(I::LocalSet(p));
        self.o(I::LocalGet(t)).o(I::LocalSet(q))
    }

    /// `x = px + (qx - px) * (y - py) / (qy - py)` in 64 bits, or `qx`
    /// when the edge is flat.
    fn edge_x(&mut self, x: u32, (px, py): (u32, u32), (qx, qy): (u32, u32), y: u32) {
        self.o(I::LocalGet(qy)).o(I::LocalGet(py)).o(I::I32Eq).o(I::If(BlockType::Result(ValType::I32)));
        self.o(I::LocalGet(qx)).o(I::Else);
        self.o(I::LocalGet(qx)).o(I::LocalGet(px)).o(I::I32Sub).o(I::I64ExtendI32S);
        self.o(I::LocalGet(y)).o(I::LocalGet(py)).o(I::I32Sub).o(I::I64ExtendI32S).o(I::I64Mul);
        self.o(I::LocalGet(qy)).o(I::LocalGet(py)).o(I::I32Sub).o(I::I64ExtendI32S).o(I::I64DivS);
        self.o(I::I32WrapI64).o(I::LocalGet(px)).o(I::I32Add).o(I::End).o(I::LocalSet(x));
    }

    /// A circle (params cx, cy, r, color).
    fn circle(&mut self, filled: bool) {
        self.p(2).c(0).o(I::I32GeS).or_fail(EINVAL);
        let c = self.canvas();
        self.rounded_box(&c, [0, 0, 1, 1, 2], 3, filled);
        self.c(0);
    }

    /// A rounded rectangle (params x, y, w, h, radius, color): nothing
    /// when it is empty; the radius at most half the shorter side.
    fn rounded_rect(&mut self, filled: bool) {
        self.p(4).c(0).o(I::I32GeS).or_fail(EINVAL);
        self.p(2).c(0).o(I::I32GtS).p(3).c(0).o(I::I32GtS).o(I::I32And).o(I::I32Eqz);
        self.o(I::If(BlockType::Empty)).c(0).o(I::Return).o(I::End);
        let [xl, xr, yt, yb, r] = [(); 5].map(|()| self.local(ValType::I32));
        self.p(4).o(I::LocalSet(r));
        for side in [2, 3] {
            self.p(side).c(1).o(I::I32ShrS).o(I::LocalSet(xl)).at_most(r, xl);
        }
        self.p(0).o(I::LocalGet(r)).o(I::I32Add).o(I::LocalSet(xl));
        self.p(0).p(2).o(I::I32Add).c(1).o(I::I32Sub).o(I::LocalGet(r)).o(I::I32Sub).o(I::LocalSet(xr));
        self.p(1).o(I::LocalGet(r)).o(I::I32Add).o(I::LocalSet(yt));
        self.p(1).p(3).o(I::I32Add).c(1).o(I::I32Sub).o(I::LocalGet(r)).o(I::I32Sub).o(I::LocalSet(yb));
        let c = self.canvas();
        self.rounded_box(&c, [xl, xr, yt, yb, r], 5, filled);
        self.c(0);
    }
}

/// The display shim for `name`, if Akira translates it.
pub(super) fn shim(name: &str) -> Option<Spec> {
    Some(match name {
        "display_clear" => spec(&[("akira:display", "size"), ("akira:display", "rect")], &[Errno], &[Display], |g| {
            // The whole screen, as AkiraOS clears it: `fill` would clear
            // the app's region, and an app without `display.write` has an
            // empty one (no denial to count).
            let size = g.local(ValType::I32);
            g.call("akira:display", "size").o(I::LocalTee(size)).c(0).o(I::I32LtS);
            g.o(I::If(BlockType::Empty)).o(I::LocalGet(size)).errno().o(I::Return).o(I::End);
            g.c(0).c(0).o(I::LocalGet(size)).c(16).o(I::I32ShrU).o(I::LocalGet(size)).c(0xffff).o(I::I32And);
            g.p(0).c(1).call("akira:display", "rect").errno();
        }),
        "display_pixel" => spec(&[("akira:display", "pixel")], &[Errno], &[Display], |g| {
            g.p(0).p(1).p(2).call("akira:display", "pixel").errno();
        }),
        "display_rect" => spec(&[("akira:display", "rect")], &[Errno], &[Display], |g| rect(g, 1)),
        "display_rect_outline" => spec(&[("akira:display", "rect")], &[Errno], &[Display], |g| rect(g, 0)),
        "display_hline" => spec(&[("akira:display", "rect")], &[Errno], &[Display], |g| {
            g.p(0).p(1).p(2).c(1).p(3).c(1).call("akira:display", "rect").errno();
        }),
        "display_vline" => spec(&[("akira:display", "rect")], &[Errno], &[Display], |g| {
            g.p(0).p(1).c(1).p(2).p(3).c(1).call("akira:display", "rect").errno();
        }),
        "display_text" | "display_text_large" | "display_text_huge" => {
            spec(&[("akira:display", "text")], &[Strlen, Errno], &[Display], |g| {
                let len = g.str_len(2);
                g.p(0).p(1).p(2).o(I::LocalGet(len)).p(3).call("akira:display", "text").errno();
            })
        }
        "display_flush" => spec(&[("akira:display", "flush")], &[Errno], &[Display], |g| {
            g.call("akira:display", "flush").errno();
        }),
        "display_get_size" => spec(&[("akira:display", "size")], &[Fits, Errno], &[Display], |g| {
            g.p(0).c(4).h(Fits).or_fail(EFAULT).p(1).c(4).h(Fits).or_fail(EFAULT);
            let size = g.local(ValType::I32);
            g.call("akira:display", "size").o(I::LocalTee(size)).c(0).o(I::I32LtS);
            g.o(I::If(BlockType::Empty)).o(I::LocalGet(size)).errno().o(I::Return).o(I::End);
            g.p(0).o(I::LocalGet(size)).c(16).o(I::I32ShrU).o(I::I32Store(A4));
            g.p(1).o(I::LocalGet(size)).c(0xffff).o(I::I32And).o(I::I32Store(A4)).c(0);
        }),
        "display_line" => spec(&[("akira:display", "line")], &[Errno], &[Display], |g| {
            g.p(0).p(1).p(2).p(3).p(4).call("akira:display", "line").errno();
        }),
        "display_triangle" => spec(&[("akira:display", "line")], &[Errno], &[Display], |g| {
            let first = g.local(ValType::I32);
            line3(g, first, (0, 1), (2, 3));
            line3(g, first, (2, 3), (4, 5));
            line3(g, first, (4, 5), (0, 1));
            g.o(I::LocalGet(first)).errno();
        }),
        "display_bitmap" => spec(&[("akira:display", "blit")], &[Errno], &[Display], |g| {
            g.p(0).p(1).p(2).p(3).p(4).p(5).call("akira:display", "blit").errno();
        }),
        "display_raw_write" => {
            spec(&[("akira:display", "blit"), ("akira:display", "flush")], &[Errno], &[Display], |g| {
                let r = g.local(ValType::I32);
                g.p(0).p(1).p(2).p(3).p(4).p(5).call("akira:display", "blit").o(I::LocalTee(r));
                g.o(I::I32Eqz).o(I::If(BlockType::Empty)).call("akira:display", "flush").o(I::LocalSet(r)).o(I::End);
                g.o(I::LocalGet(r)).errno();
            })
        }
        "display_triangle_fill" => spec(SIZE_AND_RECT, &[Errno], &[Display], |g| g.triangle_fill()),
        "display_circle" => spec(SIZE_AND_RECT, &[Errno], &[Display], |g| g.circle(false)),
        "display_circle_fill" => spec(SIZE_AND_RECT, &[Errno], &[Display], |g| g.circle(true)),
        "display_rounded_rect" => spec(SIZE_AND_RECT, &[Errno], &[Display], |g| g.rounded_rect(false)),
        "display_rounded_rect_fill" => spec(SIZE_AND_RECT, &[Errno], &[Display], |g| g.rounded_rect(true)),
        "display_progress_bar" => spec(&[("akira:display", "rect")], &[Errno], &[Display], |g| {
            // (x, y, w, h, value, max, fg, bg): the background, the part
            // done (value clamped to 0..=max), an outline.
            g.p(5).c(0).o(I::I32GtS).or_fail(EINVAL);
            let [r, done] = [(); 2].map(|()| g.local(ValType::I32));
            const MAX: u32 = 5;
            g.p(4).o(I::LocalSet(done)).at_least_zero(done).at_most(done, MAX);
            g.p(0).p(1).p(2).p(3).p(7).c(1).call("akira:display", "rect").or_return(r);
            g.p(2).o(I::I64ExtendI32S).o(I::LocalGet(done)).o(I::I64ExtendI32S).o(I::I64Mul);
            g.p(5).o(I::I64ExtendI32S).o(I::I64DivS).o(I::I32WrapI64).o(I::LocalTee(done));
            g.c(0).o(I::I32GtS).o(I::If(BlockType::Empty));
            g.p(0).p(1).o(I::LocalGet(done)).p(3).p(6).c(1).call("akira:display", "rect").or_return(r).o(I::End);
            g.p(0).p(1).p(2).p(3).p(6).c(0).call("akira:display", "rect").errno();
        }),
        "display_number" => Spec {
            scratch: true,
            ..spec(&[("akira:display", "text")], &[Errno], &[Display], |g| {
                // The decimal digits, written backwards from the end of
                // 12 bytes of scratch, a `-` before them (in 64 bits, so
                // the most negative int has a magnitude).
                const BYTE: MemArg = MemArg { offset: 0, align: 0, memory_index: 0 };
                let s = g.alloc(12);
                let v = g.local(ValType::I64);
                let [at, negative] = [(); 2].map(|()| g.local(ValType::I32));
                g.o(I::LocalGet(s)).c(12).o(I::I32Add).o(I::LocalSet(at));
                g.p(2).o(I::I64ExtendI32S).o(I::LocalTee(v)).o(I::I64Const(0)).o(I::I64LtS).o(I::LocalTee(negative));
                g.o(I::If(BlockType::Empty))
                    .o(I::I64Const(0))
                    .o(I::LocalGet(v))
                    .o(I::I64Sub)
                    .o(I::LocalSet(v))
                    .o(I::End);
                g.o(I::Loop(BlockType::Empty));
                g.o(I::LocalGet(at)).c(1).o(I::I32Sub).o(I::LocalTee(at));
                g.o(I::LocalGet(v)).o(I::I64Const(10)).o(I::I64RemU).o(I::I32WrapI64).c(48).o(I::I32Add);
                g.o(I::I32Store8(BYTE));
                g.o(I::LocalGet(v)).o(I::I64Const(10)).o(I::I64DivU).o(I::LocalTee(v)).o(I::I64Const(0)).o(I::I64Ne);
                g.o(I::BrIf(0)).o(I::End);
                g.o(I::LocalGet(negative)).o(I::If(BlockType::Empty));
                g.o(I::LocalGet(at)).c(1).o(I::I32Sub).o(I::LocalTee(at)).c(45).o(I::I32Store8(BYTE)).o(I::End);
                g.p(0).p(1).o(I::LocalGet(at)).o(I::LocalGet(s)).c(12).o(I::I32Add).o(I::LocalGet(at)).o(I::I32Sub);
                g.p(3).call("akira:display", "text").errno();
                g.free(12);
            })
        },
        "display_bitmap_transparent" => spec(SIZE_AND_RECT, &[Fits, Errno], &[Display], |g| {
            // (x, y, w, h, data, size, key): each pixel not `key`, as a
            // box of one (cut to the screen).
            g.p(2).c(0).o(I::I32GtS).p(3).c(0).o(I::I32GtS).o(I::I32And).o(I::I32Eqz);
            g.o(I::If(BlockType::Empty)).c(0).o(I::Return).o(I::End);
            let [n, i, j, px, x, y] = [(); 6].map(|()| g.local(ValType::I32));
            // 2 * w * h bytes, in 64 bits: more than `size` is -EINVAL,
            // past memory -EFAULT.
            g.p(2).o(I::I64ExtendI32U).p(3).o(I::I64ExtendI32U).o(I::I64Mul).o(I::I64Const(1)).o(I::I64Shl);
            g.o(I::I64Const(0x7fff_ffff)).o(I::I64LeU).or_fail(EINVAL);
            g.p(2).p(3).o(I::I32Mul).c(1).o(I::I32Shl).o(I::LocalTee(n)).p(5).o(I::I32LeU).or_fail(EINVAL);
            g.p(4).o(I::LocalGet(n)).h(Fits).or_fail(EFAULT);
            let c = g.canvas();
            g.o(I::Block(BlockType::Empty)).o(I::Loop(BlockType::Empty));
            g.o(I::LocalGet(j)).p(3).o(I::I32GeS).o(I::BrIf(1));
            g.c(0).o(I::LocalSet(i)).o(I::Block(BlockType::Empty)).o(I::Loop(BlockType::Empty));
            g.o(I::LocalGet(i)).p(2).o(I::I32GeS).o(I::BrIf(1));
            g.p(4).o(I::LocalGet(j)).p(2).o(I::I32Mul).o(I::LocalGet(i)).o(I::I32Add).c(1).o(I::I32Shl).o(I::I32Add);
            g.o(I::I32Load16U(MemArg { offset: 0, align: 0, memory_index: 0 })).o(I::LocalTee(px)).p(6).o(I::I32Ne);
            g.o(I::If(BlockType::Empty));
            g.p(0)
                .o(I::LocalGet(i))
                .o(I::I32Add)
                .o(I::LocalSet(x))
                .p(1)
                .o(I::LocalGet(j))
                .o(I::I32Add)
                .o(I::LocalSet(y));
            g.clipped_box(&c, (E::L(x), E::L(x)), (E::L(y), E::L(y)), E::L(px)).o(I::End);
            g.o(I::LocalGet(i)).c(1).o(I::I32Add).o(I::LocalSet(i)).o(I::Br(0)).o(I::End).o(I::End);
            g.o(I::LocalGet(j)).c(1).o(I::I32Add).o(I::LocalSet(j)).o(I::Br(0)).o(I::End).o(I::End).c(0);
        }),
        _ => return None,
    })
}
