//! The receive-and-run loop every board firmware runs the device in.

use core::pin::pin;

use akira_bridge::{Board, Instant};
use embassy_futures::select::{Either, select};
use embedded_io_async::{Read, Write};
use embedded_storage_async::nor_flash::NorFlash;

use crate::{Device, Note};

/// Bytes taken from the link at a time.
const READ_CHUNK: usize = 256;

impl<B: Board + Clone, F: NorFlash> Device<'_, B, F> {
    /// Runs the device over `link`, the byte stream the host's `akira push`
    /// and `akira device` talk to (a UART, USB CDC, a TCP socket: any
    /// embedded-io-async reader and writer), until the link ends.
    ///
    /// It answers each frame that arrives, runs the apps' rounds, and in
    /// between waits in `idle(wake)`, the board's wait for `wake` (`None`:
    /// no deadline) or an input edge: a vendor adapter's `idle`, such as
    /// `akira_hal_nrf::idle`. A read that `idle` outruns is dropped, so the
    /// link's `read` must be cancel-safe, as embassy's buffered UARTs and
    /// esp-hal's async UART are.
    ///
    /// Returns `Ok` when the link ends (a read of 0 bytes: the host closed
    /// a connection) and the link's error when a read or write fails. The
    /// apps wait while it is not running, and a transfer in progress is
    /// kept: call it again with the same link, or a new connection, and
    /// the host resumes. A half-received frame is forgotten at each call.
    ///
    /// ```ignore
    /// loop {
    ///     if device.serve(&mut uart, akira_hal_nrf::idle, akira_device::log::note).await.is_err() {
    ///         defmt::warn!("UART error");
    ///     }
    /// }
    /// ```
    pub async fn serve<L, I>(
        &mut self,
        link: &mut L,
        mut idle: impl FnMut(Option<Instant>) -> I,
        mut notes: impl FnMut(Note<'_>),
    ) -> Result<(), L::Error>
    where
        L: Read + Write,
        I: Future<Output = ()>,
    {
        self.link_reset();
        let mut buf = [0u8; READ_CHUNK];
        let mut wake = None;
        loop {
            if let Either::First(read) = select(link.read(&mut buf), idle(wake)).await {
                let mut data = match read? {
                    0 => return Ok(()),
                    n => &buf[..n],
                };
                while !data.is_empty() {
                    let (used, reply) = self.receive_with(data, &mut notes).await;
                    data = &data[used..];
                    if let Some(frame) = reply {
                        // Out before the next request: a buffered link
                        // may hold a reply until flushed.
                        link.write_all(&frame).await?;
                        link.flush().await?;
                    }
                }
            }
            wake = self.step(&mut notes).await;
        }
    }

    /// Runs the apps until `until` completes, and returns its output: for
    /// the times a firmware has no link to serve (joining a network,
    /// reaching a broker, waiting to reconnect) and the apps must keep
    /// running. Between rounds it waits in `idle(wake)` as
    /// [`Device::serve`] does, or until `until` is ready; `until` is polled
    /// to its end, never dropped half-way.
    ///
    /// ```ignore
    /// // The ESP32-C6 example's fleet link: apps run while it connects.
    /// let connected = device.run_until(socket.connect(broker), akira_hal_esp::idle, note).await;
    /// ```
    pub async fn run_until<T, I>(
        &mut self,
        until: impl Future<Output = T>,
        mut idle: impl FnMut(Option<Instant>) -> I,
        mut notes: impl FnMut(Note<'_>),
    ) -> T
    where
        I: Future<Output = ()>,
    {
        let mut until = pin!(until);
        loop {
            let wake = self.step(&mut notes).await;
            if let Either::First(done) = select(&mut until, idle(wake)).await {
                return done;
            }
        }
    }

    /// One scheduler round now; returns when the apps want the CPU again
    /// (now if one can run at once, `None` if only an input wakes them).
    async fn step(&mut self, notes: &mut impl FnMut(Note<'_>)) -> Option<Instant> {
        let now = self.board.now();
        let round = self.round_with(now, notes).await;
        if round.busy { Some(now) } else { round.next_wake }
    }
}
