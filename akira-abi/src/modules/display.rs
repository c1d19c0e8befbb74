//! `akira:display`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::Type::{I32, Ptr, U32};
use crate::{CItem, Cost, Function, Module, Param, Pointee};

/// The `akira:display` module.
pub static DISPLAY: Module = Module {
    name: "display",
    import: "akira:display",
    capability: "display",
    scope: r#"the whole screen or a region"#,
    doc: r#"The board's screen (any embedded-graphics draw target of RGB565 colours).
The manifest grants the whole screen or a region of it
(`display = "whole"`, `display = { x = 0, y = 0, width = 120, height = 60 }`).
Coordinates are absolute screen pixels (unsigned: a negative value is
outside every region); colours are RGB565 in the low 16 bits (`0xf800`
red, `0x07e0` green, `0x001f` blue; more bits are `AKIRA_EINVAL`). Each
call checks the primitive's bounding box against the region with four
compares: a primitive not wholly inside it is **refused**
(`AKIRA_EDENIED`, counted), and nothing of it is drawn. Parts inside the
region but off the screen are clipped. Drawing is native work, so each
call charges the app fuel: 20 per call plus one per pixel the primitive
can cover (area, length, outline or bounding box). Draw-target errors are
`AKIRA_EIO`. Drawing may not show until `flush` (buffered displays)."#,
    functions: &[
        Function {
            name: "size",
            params: &[],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(20),
            #[cfg(feature = "docs")]
            doc: r#"`size()`: the screen's `width << 16 \| height` in pixels."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Screen width << 16 | height."#,
        },
        Function {
            name: "fill",
            params: &[Param::new("color", U32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::pixels(20, 1, 1),
            #[cfg(feature = "docs")]
            doc: r#"`fill(color)`: fills the app's region (cut to the screen). Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Fills the app's region."#,
        },
        Function {
            name: "pixel",
            params: &[Param::new("x", U32), Param::new("y", U32), Param::new("color", U32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::pixels(20, 1, 1),
            #[cfg(feature = "docs")]
            doc: r#"`pixel(x, y, color)`: sets one pixel. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "line",
            params: &[
                Param::new("x0", U32),
                Param::new("y0", U32),
                Param::new("x1", U32),
                Param::new("y1", U32),
                Param::new("color", U32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::pixels(20, 1, 1),
            #[cfg(feature = "docs")]
            doc: r#"`line(x0, y0, x1, y1, color)`: a 1-pixel line, both ends included; its bounding box must be inside the region. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "rect",
            params: &[
                Param::new("x", U32),
                Param::new("y", U32),
                Param::new("w", U32),
                Param::new("h", U32),
                Param::new("color", U32),
                Param::new("filled", I32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::pixels(20, 1, 1),
            #[cfg(feature = "docs")]
            doc: r#"`rect(x, y, w, h, color, filled)`: a filled rectangle (`filled` 1) or a 1-pixel outline just inside it (0; other values `AKIRA_EINVAL`). Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#"filled: 1 filled, 0 a 1-pixel outline inside the rectangle."#,
        },
        Function {
            name: "text",
            params: &[
                Param::new("x", U32),
                Param::new("y", U32),
                Param::new("text", Ptr(Pointee::ConstChar)),
                Param::new("len", U32),
                Param::new("color", U32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::pixels(20, 1, 1),
            #[cfg(feature = "docs")]
            doc: r#"`text(x, y, ptr, len, color)`: UTF-8 text (at most 256 bytes, `AKIRA_E2BIG`) in the 6 x 10 pixel mono font, top-left corner at `(x, y)`, transparent background; `\n` starts a new line; characters outside ASCII are drawn as `?`. Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#"UTF-8 text in the 6x10 font, top-left at (x, y)."#,
        },
        Function {
            name: "blit",
            params: &[
                Param::new("x", U32),
                Param::new("y", U32),
                Param::new("w", U32),
                Param::new("h", U32),
                Param::new("pixels", Ptr(Pointee::ConstVoid)),
                Param::new("len", U32),
            ],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::pixels(20, 1, 1),
            #[cfg(feature = "docs")]
            doc: r#"`blit(x, y, w, h, ptr, len)`: copies a `w` x `h` image of RGB565 pixels, little-endian, row by row, from app memory; `len` must be `2*w*h` (`AKIRA_EINVAL`), at most 32 KiB (`AKIRA_E2BIG`). Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#"w*h RGB565 pixels, little-endian, row by row; len = 2*w*h bytes."#,
        },
        Function {
            name: "flush",
            params: &[],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(1000),
            #[cfg(feature = "docs")]
            doc: r#"`flush()`: shows what was drawn (a buffered driver sends its frame). Returns 0."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
    ],
    c_items: &[
        CItem::Text(
            r#"/* Colours are RGB565; coordinates absolute screen pixels. A primitive not
 * wholly inside the app's region is refused (AKIRA_EDENIED), not clipped. */
#define AKIRA_RGB565(r, g, b) ((uint32_t)((((r) & 0xf8) << 8) | (((g) & 0xfc) << 3) | ((b) >> 3)))"#,
        ),
        CItem::Import("size"),
        CItem::Import("fill"),
        CItem::Import("pixel"),
        CItem::Import("line"),
        CItem::Import("rect"),
        CItem::Import("text"),
        CItem::Import("blit"),
        CItem::Import("flush"),
    ],
};
