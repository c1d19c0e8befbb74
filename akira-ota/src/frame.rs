//! Wire framing for the update protocol, independent of the transport
//! (UART, USB CDC, TCP, BLE).
//!
//! A frame on the wire is
//!
//! ```text
//! COBS( postcard(message) || CRC-32(postcard(message)) as little-endian u32 ) 0x00
//! ```
//!
//! * [postcard] gives a compact, `no_std` encoding of the messages in
//!   [`protocol`](crate::protocol).
//! * The CRC is CRC-32/ISO-HDLC (the zlib / Ethernet CRC), computed over the
//!   postcard bytes. It sits *inside* the COBS payload, so a corrupted byte is
//!   caught whichever part of the frame it hits.
//! * [COBS](https://en.wikipedia.org/wiki/Consistent_Overhead_Byte_Stuffing)
//!   removes every `0x00` from the frame, so `0x00` marks frame ends
//!   unambiguously: a receiver that starts listening mid-stream, or sees a
//!   byte dropped, resynchronises at the next `0x00`. A lone `0x00` (an empty
//!   frame) is ignored by [`FrameDecoder`], so a sender may emit one to flush
//!   whatever half frame a receiver holds.
//!
//! [`encode`] writes one frame, [`FrameDecoder`] splits a byte stream into
//! frames and [`decode`] turns one frame back into a message, in place and
//! without copying borrowed fields. [`write_frame`], [`FrameReader`] and
//! their async twins do the same over [`embedded_io`] and
//! [`embedded_io_async`] streams.
//!
//! ```
//! use akira_ota::frame::{self, FrameDecoder, MAX_FRAME};
//! use akira_ota::protocol::Request;
//!
//! let mut wire = [0u8; MAX_FRAME];
//! let len = frame::encode(&Request::Chunk { offset: 0, data: b"\0asm" }, &mut wire).unwrap();
//!
//! let mut decoder = FrameDecoder::<MAX_FRAME>::new();
//! let (used, done) = decoder.push(&wire[..len]);
//! assert_eq!((used, done), (len, Some(Ok(len - 1))));
//! let request: Request = frame::decode(decoder.frame()).unwrap();
//! assert_eq!(request, Request::Chunk { offset: 0, data: b"\0asm" });
//! ```

use core::fmt;

use crc::{CRC_32_ISO_HDLC, Crc};
use serde::{Deserialize, Serialize};

/// Largest postcard encoding of one message, in bytes, before the CRC and
/// COBS are added. [`encode`] refuses larger messages with
/// [`FrameError::TooLarge`].
pub const MAX_PAYLOAD: usize = 600;

/// Bytes of CRC after the postcard bytes.
pub const CRC_LEN: usize = 4;

/// The frame delimiter.
pub const DELIMITER: u8 = 0;

/// Worst-case COBS encoding of `len` bytes (without the delimiter): one code
/// byte per started run of 254 bytes, plus one.
pub const fn cobs_max_len(len: usize) -> usize {
    len + len / 254 + 1
}

/// Worst-case size of a whole frame on the wire: a [`MAX_PAYLOAD`]-byte
/// message plus CRC, COBS overhead and the delimiter (608 bytes).
///
/// A buffer of this size always holds what [`encode`] writes, and a
/// [`FrameDecoder<MAX_FRAME>`] always holds a frame from [`encode`].
pub const MAX_FRAME: usize = cobs_max_len(MAX_PAYLOAD + CRC_LEN) + 1;

static CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// Why a frame could not be written or read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FrameError {
    /// The message's postcard encoding is longer than [`MAX_PAYLOAD`].
    TooLarge,
    /// The output buffer is too small for the frame (a [`MAX_FRAME`]-byte
    /// buffer never is).
    BufferTooSmall,
    /// Serde refused to serialise the message (for example a sequence of
    /// unknown length). Never happens for the [`protocol`](crate::protocol)
    /// messages.
    Encode,
    /// A frame was longer than the decoder's buffer; its bytes were dropped
    /// up to the next delimiter.
    Overflow,
    /// The frame is not valid COBS (a run points past the frame's end, or it
    /// contains a `0x00`).
    Cobs,
    /// The frame's CRC does not match its contents, or the frame is too
    /// short to hold one.
    Crc,
    /// The CRC matched but the bytes are not a valid message of the expected
    /// type (unknown variant, bad field, trailing bytes): typically a peer
    /// speaking another protocol version.
    Decode,
    /// The frame is empty.
    Empty,
}

impl FrameError {
    /// A short description.
    pub const fn as_str(self) -> &'static str {
        match self {
            FrameError::TooLarge => "message larger than MAX_PAYLOAD",
            FrameError::BufferTooSmall => "output buffer too small for the frame",
            FrameError::Encode => "message could not be serialised",
            FrameError::Overflow => "frame longer than the receive buffer",
            FrameError::Cobs => "malformed COBS framing",
            FrameError::Crc => "CRC mismatch",
            FrameError::Decode => "frame does not hold a valid message",
            FrameError::Empty => "empty frame",
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for FrameError {}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

/// A postcard flavor that CRCs and COBS-encodes bytes straight into the
/// output buffer (with the `cobs` crate's streaming encoder), so encoding
/// needs no scratch buffer.
struct FrameWriter<'o> {
    cobs: cobs::CobsEncoder<'o>,
    /// Postcard bytes seen.
    payload: usize,
    /// The output buffer ran out of space (bytes are still counted to tell
    /// [`FrameError::TooLarge`] from [`FrameError::BufferTooSmall`]).
    short: bool,
    digest: crc::Digest<'static, u32>,
}

impl<'o> FrameWriter<'o> {
    fn new(out: &'o mut [u8]) -> Self {
        let short = out.is_empty();
        FrameWriter { cobs: cobs::CobsEncoder::new(out), payload: 0, short, digest: CRC32.digest() }
    }

    /// COBS-encodes bytes, until the output buffer is full.
    fn cobs(&mut self, bytes: &[u8]) {
        if !self.short && self.cobs.push(bytes).is_err() {
            self.short = true;
        }
    }

    /// Appends the CRC and closes the last run; returns the encoded length,
    /// without the delimiter.
    fn finish(mut self) -> Result<usize, FrameError> {
        let crc = self.digest.clone().finalize().to_le_bytes();
        self.cobs(&crc);
        if self.short {
            return Err(FrameError::BufferTooSmall);
        }
        Ok(self.cobs.finalize())
    }
}

impl postcard::ser_flavors::Flavor for &mut FrameWriter<'_> {
    type Output = ();

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.try_extend(&[byte])
    }

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.payload += data.len();
        if self.payload > MAX_PAYLOAD {
            return Err(postcard::Error::SerializeBufferFull);
        }
        self.digest.update(data);
        self.cobs(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Encodes `message` as one whole frame, delimiter included, into `out` and
/// returns the frame's length. Nothing useful is left in `out` on error.
///
/// # Errors
///
/// [`FrameError::TooLarge`] if the message's postcard encoding exceeds
/// [`MAX_PAYLOAD`] (checked first), [`FrameError::BufferTooSmall`] if the
/// frame does not fit `out` (a [`MAX_FRAME`]-byte buffer always suffices),
/// [`FrameError::Encode`] if serde fails.
pub fn encode<T: Serialize + ?Sized>(message: &T, out: &mut [u8]) -> Result<usize, FrameError> {
    let mut writer = FrameWriter::new(out);
    let len = match postcard::serialize_with_flavor(message, &mut writer) {
        Ok(()) => writer.finish()?,
        Err(_) if writer.payload > MAX_PAYLOAD => return Err(FrameError::TooLarge),
        Err(_) => return Err(FrameError::Encode),
    };
    // The encoder's length can exceed the buffer by one when the last byte
    // was a zero whose code byte found no room: `get_mut` refuses both.
    let Some(delimiter) = out.get_mut(len) else { return Err(FrameError::BufferTooSmall) };
    *delimiter = DELIMITER;
    Ok(len + 1)
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

/// Undoes COBS in place (the `cobs` crate's decoder) and returns the
/// decoded length. `frame` excludes the delimiter, so a zero inside it is
/// malformed.
fn cobs_decode_in_place(frame: &mut [u8]) -> Result<usize, FrameError> {
    match cobs::decode_in_place_report(frame) {
        // The decoder stops at a zero: the whole frame must have been used.
        Ok(report) if report.src_used == frame.len() => Ok(report.dst_used),
        _ => Err(FrameError::Cobs),
    }
}

/// Decodes one frame (the bytes between two delimiters, without them) into a
/// message: undoes COBS in place, checks the CRC and postcard-decodes the
/// rest. The message may borrow from `frame` (for example
/// [`Request::Chunk`](crate::protocol::Request::Chunk)'s data).
///
/// # Errors
///
/// [`FrameError::Empty`] for an empty frame, [`FrameError::Cobs`] for bad
/// COBS, [`FrameError::Crc`] for a CRC mismatch or a frame shorter than the
/// CRC, [`FrameError::Decode`] if the bytes are not exactly one `T`
/// (including trailing bytes).
pub fn decode<'a, T: Deserialize<'a>>(frame: &'a mut [u8]) -> Result<T, FrameError> {
    if frame.is_empty() {
        return Err(FrameError::Empty);
    }
    let len = cobs_decode_in_place(frame)?;
    let frame: &'a [u8] = frame;
    let Some(payload_len) = len.checked_sub(CRC_LEN) else {
        return Err(FrameError::Crc);
    };
    let (payload, crc) = frame[..len].split_at(payload_len);
    if CRC32.checksum(payload).to_le_bytes() != crc {
        return Err(FrameError::Crc);
    }
    match postcard::take_from_bytes(payload) {
        Ok((message, [])) => Ok(message),
        _ => Err(FrameError::Decode),
    }
}

/// Splits a byte stream into frames.
///
/// Bytes are buffered until a delimiter; the frame is then available from
/// [`frame`](Self::frame) for [`decode`]. A frame longer than `N` bytes is
/// reported once as [`FrameError::Overflow`] and its remaining bytes are
/// dropped up to the next delimiter, where the decoder resynchronises.
/// Empty frames (consecutive delimiters) are skipped silently. Garbled
/// frames are only recognised by [`decode`].
///
/// `N` = [`MAX_FRAME`] fits every frame [`encode`] writes (one byte spare,
/// as the delimiter is not stored).
#[derive(Clone, Debug)]
pub struct FrameDecoder<const N: usize> {
    buf: [u8; N],
    /// Bytes of the frame being received.
    len: usize,
    /// Length of the completed frame in `buf`, until the next push.
    done: Option<usize>,
    /// Dropping bytes of an overlong frame up to the next delimiter.
    discarding: bool,
}

impl<const N: usize> FrameDecoder<N> {
    /// An empty decoder, waiting for the first byte of a frame.
    pub const fn new() -> Self {
        FrameDecoder { buf: [0; N], len: 0, done: None, discarding: false }
    }

    /// Feeds bytes from the stream. Stops after the first event and returns
    /// how many bytes of `data` it consumed, and the event:
    ///
    /// * `Some(Ok(len))`: a frame of `len` bytes is complete; get it with
    ///   [`frame`](Self::frame) before pushing again, then push
    ///   `data[consumed..]`.
    /// * `Some(Err(FrameError::Overflow))`: a frame outgrew the buffer; the
    ///   rest of it will be dropped.
    /// * `None`: all of `data` was consumed without completing a frame.
    pub fn push(&mut self, data: &[u8]) -> (usize, Option<Result<usize, FrameError>>) {
        self.done = None;
        for (i, &byte) in data.iter().enumerate() {
            if byte == DELIMITER {
                let len = core::mem::take(&mut self.len);
                if core::mem::take(&mut self.discarding) || len == 0 {
                    continue;
                }
                self.done = Some(len);
                return (i + 1, Some(Ok(len)));
            }
            if self.discarding {
                continue;
            }
            if self.len == N {
                self.len = 0;
                self.discarding = true;
                return (i + 1, Some(Err(FrameError::Overflow)));
            }
            self.buf[self.len] = byte;
            self.len += 1;
        }
        (data.len(), None)
    }

    /// The frame completed by the last [`push`](Self::push), without its
    /// delimiter; empty if that push completed none. Mutable so [`decode`]
    /// can work in place.
    pub fn frame(&mut self) -> &mut [u8] {
        match self.done {
            Some(len) => &mut self.buf[..len],
            None => &mut [],
        }
    }

    /// Drops any partly received frame (for example after a receive
    /// timeout) and waits for the first byte of a new one.
    pub fn reset(&mut self) {
        self.len = 0;
        self.done = None;
        self.discarding = false;
    }

    /// Bytes of a frame received so far but not yet completed.
    pub fn pending(&self) -> usize {
        self.len
    }
}

impl<const N: usize> Default for FrameDecoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

// ---------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------

/// Why reading or writing a frame over a stream failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IoError<E> {
    /// The stream failed.
    Io(E),
    /// The frame could not be encoded, or a received one was overlong or
    /// garbled. After a read error the stream stays usable: the next read
    /// returns the next frame.
    Frame(FrameError),
    /// The stream ended (a read returned 0 bytes).
    Closed,
}

impl<E> From<FrameError> for IoError<E> {
    fn from(error: FrameError) -> Self {
        IoError::Frame(error)
    }
}

impl<E: fmt::Display> fmt::Display for IoError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IoError::Io(e) => write!(f, "I/O error: {e}"),
            IoError::Frame(e) => write!(f, "framing error: {e}"),
            IoError::Closed => f.write_str("stream closed"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for IoError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            IoError::Io(e) => Some(e),
            IoError::Frame(e) => Some(e),
            IoError::Closed => None,
        }
    }
}

/// Encodes `message` into a [`MAX_FRAME`]-byte stack buffer, writes the
/// frame and flushes the writer.
pub fn write_frame<W: embedded_io::Write, T: Serialize + ?Sized>(
    w: &mut W,
    message: &T,
) -> Result<(), IoError<W::Error>> {
    let mut buf = [0u8; MAX_FRAME];
    let len = encode(message, &mut buf)?;
    w.write_all(&buf[..len]).map_err(IoError::Io)?;
    w.flush().map_err(IoError::Io)
}

/// Async twin of [`write_frame`].
pub async fn write_frame_async<W: embedded_io_async::Write, T: Serialize + ?Sized>(
    w: &mut W,
    message: &T,
) -> Result<(), IoError<W::Error>> {
    let mut buf = [0u8; MAX_FRAME];
    let len = encode(message, &mut buf)?;
    w.write_all(&buf[..len]).await.map_err(IoError::Io)?;
    w.flush().await.map_err(IoError::Io)
}

/// Reads frames from a stream: a [`FrameDecoder<N>`] plus a `B`-byte read
/// buffer that keeps bytes read past a frame's delimiter for the next call,
/// so several frames arriving in one read are all returned, one per call.
///
/// `N` = [`MAX_FRAME`] fits every frame; `B` (default 64) only sets how many
/// bytes one `read` call may return.
///
/// ```
/// use akira_ota::frame::{self, FrameReader, MAX_FRAME};
/// use akira_ota::protocol::Request;
///
/// let mut wire = [0u8; 2 * MAX_FRAME];
/// let a = frame::encode(&Request::Hello, &mut wire).unwrap();
/// let b = frame::encode(&Request::List, &mut wire[a..]).unwrap();
/// let mut stream: &[u8] = &wire[..a + b];
///
/// let mut reader = FrameReader::<MAX_FRAME>::new();
/// assert_eq!(reader.read_message::<Request, _>(&mut stream), Ok(Request::Hello));
/// assert_eq!(reader.read_message::<Request, _>(&mut stream), Ok(Request::List));
/// assert_eq!(reader.read_message::<Request, _>(&mut stream), Err(frame::IoError::Closed));
/// ```
#[derive(Clone, Debug)]
pub struct FrameReader<const N: usize, const B: usize = 64> {
    decoder: FrameDecoder<N>,
    buf: [u8; B],
    /// Unconsumed bytes are `buf[start..end]`.
    start: usize,
    end: usize,
}

impl<const N: usize, const B: usize> FrameReader<N, B> {
    /// An empty reader.
    pub const fn new() -> Self {
        const { assert!(B > 0, "FrameReader needs a non-empty read buffer") };
        FrameReader { decoder: FrameDecoder::new(), buf: [0; B], start: 0, end: 0 }
    }

    /// Feeds buffered bytes to the decoder; `None` once they are used up.
    fn drain(&mut self) -> Option<Result<(), FrameError>> {
        let (used, event) = self.decoder.push(&self.buf[self.start..self.end]);
        self.start += used;
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        event.map(|result| result.map(drop))
    }

    /// Reads until a frame is complete and returns it (without delimiter,
    /// mutable for [`decode`]). Bytes after it stay buffered for the next
    /// call.
    ///
    /// # Errors
    ///
    /// [`IoError::Frame`] with [`FrameError::Overflow`] for an overlong
    /// frame (the next call returns the frame after it), [`IoError::Io`] if
    /// the stream fails, [`IoError::Closed`] if it ends; a partly received
    /// frame is kept in both cases.
    pub fn read<R: embedded_io::Read>(&mut self, r: &mut R) -> Result<&mut [u8], IoError<R::Error>> {
        loop {
            match self.drain() {
                Some(Ok(())) => return Ok(self.decoder.frame()),
                Some(Err(e)) => return Err(IoError::Frame(e)),
                None => {}
            }
            let n = r.read(&mut self.buf).map_err(IoError::Io)?;
            if n == 0 {
                return Err(IoError::Closed);
            }
            self.end = n;
        }
    }

    /// Async twin of [`read`](Self::read).
    pub async fn read_async<R: embedded_io_async::Read>(&mut self, r: &mut R) -> Result<&mut [u8], IoError<R::Error>> {
        loop {
            match self.drain() {
                Some(Ok(())) => return Ok(self.decoder.frame()),
                Some(Err(e)) => return Err(IoError::Frame(e)),
                None => {}
            }
            let n = r.read(&mut self.buf).await.map_err(IoError::Io)?;
            if n == 0 {
                return Err(IoError::Closed);
            }
            self.end = n;
        }
    }

    /// Reads the next frame and [`decode`]s it as a `T`, which may borrow
    /// from the reader.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read), plus [`IoError::Frame`] if the frame does
    /// not decode; the next call reads the next frame.
    pub fn read_message<'s, T: Deserialize<'s>, R: embedded_io::Read>(
        &'s mut self,
        r: &mut R,
    ) -> Result<T, IoError<R::Error>> {
        Ok(decode(self.read(r)?)?)
    }

    /// Async twin of [`read_message`](Self::read_message).
    pub async fn read_message_async<'s, T: Deserialize<'s>, R: embedded_io_async::Read>(
        &'s mut self,
        r: &mut R,
    ) -> Result<T, IoError<R::Error>> {
        Ok(decode(self.read_async(r).await?)?)
    }

    /// The frame returned by the last successful read; empty otherwise.
    pub fn frame(&mut self) -> &mut [u8] {
        self.decoder.frame()
    }

    /// Drops buffered bytes and any partly received frame.
    pub fn reset(&mut self) {
        self.decoder.reset();
        (self.start, self.end) = (0, 0);
    }
}

impl<const N: usize, const B: usize> Default for FrameReader<N, B> {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads one frame from `r` with `reader`: same as [`FrameReader::read`].
/// Decode the returned bytes with [`decode`].
pub fn read_frame<'s, R: embedded_io::Read, const N: usize, const B: usize>(
    r: &mut R,
    reader: &'s mut FrameReader<N, B>,
) -> Result<&'s mut [u8], IoError<R::Error>> {
    reader.read(r)
}

/// Async twin of [`read_frame`].
pub async fn read_frame_async<'s, R: embedded_io_async::Read, const N: usize, const B: usize>(
    r: &mut R,
    reader: &'s mut FrameReader<N, B>,
) -> Result<&'s mut [u8], IoError<R::Error>> {
    reader.read_async(r).await
}
