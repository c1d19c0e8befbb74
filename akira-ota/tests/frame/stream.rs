//! The stream helpers over embedded-io readers and writers.

use super::*;

/// A reader that hands out scripted pieces, one per read (cut to the
/// caller's buffer), then end of stream or an error.
struct Script {
    reads: VecDeque<Vec<u8>>,
    fail_at_end: bool,
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
struct Broken;

impl core::fmt::Display for Broken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("broken")
    }
}
impl core::error::Error for Broken {}
impl embedded_io::Error for Broken {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::BrokenPipe
    }
}

impl Script {
    fn new(reads: Vec<Vec<u8>>) -> Self {
        Script { reads: reads.into(), fail_at_end: false }
    }

    fn next(&mut self, buf: &mut [u8]) -> Result<usize, Broken> {
        let Some(mut piece) = self.reads.pop_front() else {
            return if self.fail_at_end { Err(Broken) } else { Ok(0) };
        };
        let n = piece.len().min(buf.len());
        buf[..n].copy_from_slice(&piece[..n]);
        if n < piece.len() {
            piece.drain(..n);
            self.reads.push_front(piece);
        }
        Ok(n)
    }
}

impl embedded_io::ErrorType for Script {
    type Error = Broken;
}
impl embedded_io::Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Broken> {
        self.next(buf)
    }
}
impl embedded_io_async::Read for Script {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Broken> {
        self.next(buf)
    }
}

/// A writer that accepts at most 5 bytes per write and counts flushes.
#[derive(Default)]
struct Sink {
    bytes: Vec<u8>,
    flushes: usize,
}

impl embedded_io::ErrorType for Sink {
    type Error = Infallible;
}
impl embedded_io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        let n = buf.len().min(5);
        self.bytes.extend(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        self.flushes += 1;
        Ok(())
    }
}
impl embedded_io_async::Write for Sink {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        embedded_io::Write::write(self, buf)
    }
    async fn flush(&mut self) -> Result<(), Infallible> {
        embedded_io::Write::flush(self)
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

fn owned(result: Result<Request<'_>, IoError<Broken>>) -> Result<OwnedRequest, IoError<Broken>> {
    result.map(|r| own(&r))
}

#[test]
fn write_frame_writes_whole_frames_and_flushes() {
    let mut sink = Sink::default();
    for request in requests() {
        write_frame(&mut sink, &request).unwrap();
    }
    assert_eq!(sink.flushes, requests().len());
    let expected: Vec<u8> = requests().iter().flat_map(encoded).collect();
    assert_eq!(sink.bytes, expected);

    let mut async_sink = Sink::default();
    for request in requests() {
        block_on(write_frame_async(&mut async_sink, &request)).unwrap();
    }
    assert_eq!(async_sink.bytes, expected);

    let too_big = [1u8; MAX_PAYLOAD];
    let mut sink = Sink::default();
    assert_eq!(
        write_frame(&mut sink, &Request::Chunk { offset: 0, data: &too_big }),
        Err(IoError::Frame(FrameError::TooLarge))
    );
    assert!(sink.bytes.is_empty());
}

#[test]
fn read_two_frames_from_one_read_and_one_frame_over_many() {
    let a = encoded(&Request::Begin { size: 9, id: [3; 32] });
    let b = encoded(&Request::Chunk { offset: 0, data: &CHUNK[..9] });
    let c = encoded(&Request::Chunk { offset: 9, data: &CHUNK[9..300] });
    let d = encoded(&Request::Abort);
    // a and b arrive together; c byte by byte; d with garbage and an
    // overlong frame in front.
    let mut reads = vec![[a.clone(), b.clone()].concat()];
    reads.extend(c.iter().map(|&byte| vec![byte]));
    let mut tail = vec![0x42; MAX_FRAME + 5];
    tail.push(0);
    tail.extend(b"junk\0");
    tail.extend(&d);
    reads.push(tail);

    let expected_ok = [
        Ok(own(&Request::Begin { size: 9, id: [3; 32] })),
        Ok(own(&Request::Chunk { offset: 0, data: &CHUNK[..9] })),
        Ok(own(&Request::Chunk { offset: 9, data: &CHUNK[9..300] })),
    ];

    // Blocking, through read_frame + decode, with a large and a tiny buffer.
    fn run<const B: usize>(reads: Vec<Vec<u8>>) -> Vec<Result<OwnedRequest, IoError<Broken>>> {
        let mut script = Script::new(reads);
        let mut reader = FrameReader::<MAX_FRAME, B>::new();
        let mut out = Vec::new();
        loop {
            let result = match read_frame(&mut script, &mut reader) {
                Ok(frame) => owned(decode(frame).map_err(IoError::Frame)),
                Err(e) => Err(e),
            };
            let end = result == Err(IoError::Closed);
            out.push(result);
            if end {
                return out;
            }
        }
    }
    fn run_async<const B: usize>(reads: Vec<Vec<u8>>) -> Vec<Result<OwnedRequest, IoError<Broken>>> {
        let mut script = Script::new(reads);
        let mut reader = FrameReader::<MAX_FRAME, B>::new();
        let mut out = Vec::new();
        loop {
            let result = block_on(async {
                match read_frame_async(&mut script, &mut reader).await {
                    Ok(frame) => owned(decode(frame).map_err(IoError::Frame)),
                    Err(e) => Err(e),
                }
            });
            let end = result == Err(IoError::Closed);
            out.push(result);
            if end {
                return out;
            }
        }
    }

    for results in
        [run::<64>(reads.clone()), run::<1>(reads.clone()), run_async::<2048>(reads.clone()), run_async::<3>(reads)]
    {
        assert_eq!(results.len(), 7, "{results:?}");
        assert_eq!(results[..3], expected_ok);
        assert_eq!(results[3], Err(IoError::Frame(FrameError::Overflow)));
        assert!(matches!(results[4], Err(IoError::Frame(FrameError::Cobs | FrameError::Crc | FrameError::Decode))));
        assert_eq!(results[5], Ok(own(&Request::Abort)));
        assert_eq!(results[6], Err(IoError::Closed));
    }
}

#[test]
fn read_message_and_errors() {
    let a = encoded(&Request::Remove { name: name("old") });
    let b = encoded(&Request::Chunk { offset: 1, data: b"borrowed" });
    let mut script = Script::new(vec![[a.clone(), b.clone(), a[..3].to_vec()].concat()]);
    script.fail_at_end = true;
    let mut reader: FrameReader<MAX_FRAME> = FrameReader::default();
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut script), Ok(Request::Remove { name: name("old") }));
    {
        // Borrowing from the reader's buffer.
        let request = reader.read_message::<Request<'_>, _>(&mut script).unwrap();
        assert_eq!(request, Request::Chunk { offset: 1, data: b"borrowed" });
    }
    assert_eq!(reader.frame().len(), b.len() - 1);
    // A partial frame, then the stream fails: the error is passed on.
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut script), Err(IoError::Io(Broken)));
    // The partial frame was kept: the rest of it completes it.
    script.reads.push_back(a[3..].to_vec());
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut script), Ok(Request::Remove { name: name("old") }));

    // A frame of the wrong type is a decode error, and reading goes on.
    let mut script = Script::new(vec![[encoded(&Response::Done), a.clone()].concat()]);
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut script), Err(IoError::Frame(FrameError::Decode)));
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut script), Ok(Request::Remove { name: name("old") }));
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut script), Err(IoError::Closed));

    // reset drops buffered bytes.
    let mut script = Script::new(vec![[a.clone(), a.clone()].concat()]);
    assert!(reader.read(&mut script).is_ok());
    reader.reset();
    assert_eq!(reader.read(&mut script), Err(IoError::Closed));

    // Async read_message.
    let mut script = Script::new(vec![b.clone()]);
    let result = block_on(async {
        let r = reader.read_message_async::<Request<'_>, _>(&mut script).await;
        owned(r)
    });
    assert_eq!(result, Ok(own(&Request::Chunk { offset: 1, data: b"borrowed" })));

    // Display and source.
    let e: IoError<Broken> = IoError::Frame(FrameError::Crc);
    assert_eq!(e.to_string(), "framing error: CRC mismatch");
    assert!(core::error::Error::source(&e).is_some());
    assert_eq!(IoError::<Broken>::Closed.to_string(), "stream closed");
    assert_eq!(IoError::Io(Broken).to_string(), "I/O error: broken");
}

#[test]
fn slices_work_as_streams() {
    let a = encoded(&Request::Hello);
    let mut bytes = [a.clone(), a].concat();
    let mut stream: &[u8] = &bytes;
    let mut reader = FrameReader::<MAX_FRAME, 5>::new();
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut stream), Ok(Request::Hello));
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut stream), Ok(Request::Hello));
    assert_eq!(reader.read_message::<Request<'_>, _>(&mut stream), Err(IoError::Closed));

    // Writing into a slice that is too short fails with the writer's error.
    let mut out: &mut [u8] = &mut bytes[..3];
    assert!(matches!(write_frame(&mut out, &Request::Hello), Err(IoError::Io(_))));
}
