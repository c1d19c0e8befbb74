//! Checked access to an app's linear memory.
//!
//! A `(ptr, len)` pair from an app is a loan of part of its memory: it is
//! bounds-checked against the memory's current size and handed out as a
//! Rust slice, never as a raw pointer. A bad pointer or length is
//! [`Errno::Fault`] for the app, never a panic or undefined behaviour.

use crate::errno::Errno;

/// An app's linear memory during one host call.
pub struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

impl<'a> GuestMemory<'a> {
    /// Wraps the memory's bytes.
    pub fn new(bytes: &'a mut [u8]) -> Self {
        GuestMemory { bytes }
    }

    /// Size of the memory in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the memory is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn range(&self, ptr: u32, len: u32) -> Result<core::ops::Range<usize>, Errno> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(Errno::Fault)?;
        if end > self.bytes.len() { Err(Errno::Fault) } else { Ok(start..end) }
    }

    /// The app's bytes `ptr..ptr + len`.
    pub fn bytes(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let r = self.range(ptr, len)?;
        Ok(&self.bytes[r])
    }

    /// The app's bytes `ptr..ptr + len`, writable.
    pub fn bytes_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Errno> {
        let r = self.range(ptr, len)?;
        Ok(&mut self.bytes[r])
    }

    /// A UTF-8 string at `ptr..ptr + len`; [`Errno::Invalid`] if it is not
    /// UTF-8.
    pub fn str(&self, ptr: u32, len: u32) -> Result<&str, Errno> {
        core::str::from_utf8(self.bytes(ptr, len)?).map_err(|_| Errno::Invalid)
    }

    /// Two loans at once: `src` (read-only) and `dst` (writable), for calls
    /// that send one app buffer and receive into another (an I2C
    /// write-read, an SPI transfer). Each range is bounds-checked
    /// ([`Errno::Fault`]); ranges that overlap are [`Errno::Invalid`]
    /// (empty ranges overlap nothing).
    pub fn in_out(&mut self, src: (u32, u32), dst: (u32, u32)) -> Result<(&[u8], &mut [u8]), Errno> {
        let s = self.range(src.0, src.1)?;
        let d = self.range(dst.0, dst.1)?;
        if s.is_empty() {
            return Ok((&[], &mut self.bytes[d]));
        }
        if d.is_empty() {
            return Ok((&self.bytes[s], &mut []));
        }
        if s.start < d.end && d.start < s.end {
            return Err(Errno::Invalid);
        }
        if s.end <= d.start {
            let (head, tail) = self.bytes.split_at_mut(d.start);
            Ok((&head[s], &mut tail[..d.end - d.start]))
        } else {
            let (head, tail) = self.bytes.split_at_mut(s.start);
            Ok((&tail[..s.end - s.start], &mut head[d]))
        }
    }

    /// Copies `data` to `ptr`.
    pub fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), Errno> {
        let len = u32::try_from(data.len()).map_err(|_| Errno::TooLarge)?;
        self.bytes_mut(ptr, len)?.copy_from_slice(data);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loans_are_bounds_checked() {
        let mut backing = [0u8; 16];
        let mut m = GuestMemory::new(&mut backing);
        assert_eq!(m.bytes(0, 16).unwrap().len(), 16);
        assert_eq!(m.bytes(16, 0).unwrap().len(), 0);
        assert_eq!(m.bytes(16, 1), Err(Errno::Fault));
        assert_eq!(m.bytes(1, 16), Err(Errno::Fault));
        assert_eq!(m.bytes(u32::MAX, u32::MAX), Err(Errno::Fault), "no overflow");
        m.write(4, b"hi").unwrap();
        assert_eq!(m.str(4, 2), Ok("hi"));
        assert_eq!(m.write(15, b"hi"), Err(Errno::Fault));
        m.write(0, &[0xff]).unwrap();
        assert_eq!(m.str(0, 1), Err(Errno::Invalid));
    }

    #[test]
    fn in_out_loans_two_disjoint_ranges() {
        let mut backing: [u8; 16] = core::array::from_fn(|i| i as u8);
        let mut m = GuestMemory::new(&mut backing);
        let (src, dst) = m.in_out((0, 4), (8, 4)).unwrap();
        assert_eq!(src, &[0, 1, 2, 3]);
        dst.copy_from_slice(src);
        let (src, dst) = m.in_out((8, 4), (2, 2)).unwrap();
        assert_eq!(src, &[0, 1, 2, 3], "source after destination");
        assert_eq!(dst, &[2, 3]);
        assert_eq!(m.in_out((0, 4), (3, 2)).unwrap_err(), Errno::Invalid, "overlap");
        assert_eq!(m.in_out((4, 4), (0, 8)).unwrap_err(), Errno::Invalid, "destination contains source end");
        assert_eq!(m.in_out((0, 4), (4, 4)).map(|(s, d)| (s.len(), d.len())), Ok((4, 4)), "adjacent");
        assert_eq!(m.in_out((0, 0), (0, 16)).map(|(s, d)| (s.len(), d.len())), Ok((0, 16)), "empty source");
        assert_eq!(m.in_out((0, 16), (16, 0)).map(|(s, d)| (s.len(), d.len())), Ok((16, 0)), "empty destination");
        assert_eq!(m.in_out((0, 17), (0, 0)).unwrap_err(), Errno::Fault);
        assert_eq!(m.in_out((0, 1), (u32::MAX, 2)).unwrap_err(), Errno::Fault);
    }
}
