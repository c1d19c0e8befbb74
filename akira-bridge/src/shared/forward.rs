//! How a shared board answers each module trait: [`SharedBoard`] hands
//! the call to its peripherals, `&'static Shared<T>` to the driver in the
//! cell, and [`Peripherals`] to the bus, port, route or mailbox of the
//! app's resource.

#[allow(unused_imports)] // which forwardings exist depends on the features
use super::board::SharedBoard;
#[allow(unused_imports)] // which forwardings exist depends on the features
use super::cell::Shared;
#[allow(unused_imports)]
use super::peripherals::Peripherals;
#[allow(unused_imports)]
use crate::errno::Errno;
#[cfg(feature = "adc")]
use crate::modules::adc::Adc;
#[cfg(feature = "ble")]
use crate::modules::ble::{Ble, BleJob, ScanReport};
#[cfg(feature = "ble")]
use crate::modules::gatt::{GattDeclaration, GattEvent, GattJob};
#[cfg(feature = "i2c")]
use crate::modules::i2c::I2c;
#[cfg(feature = "i2c")]
use crate::modules::i2c_async::AsyncI2c;
#[cfg(feature = "pwm")]
use crate::modules::pwm::Pwm;
#[cfg(feature = "rf")]
use crate::modules::rf::{Job, LoraConfig, Outcome, PacketInfo, Rf};
#[cfg(feature = "rng")]
use crate::modules::rng::Rng;
#[cfg(feature = "sensor")]
use crate::modules::sensor::{Reading, SensorKind, Sensors};
#[cfg(feature = "spi")]
use crate::modules::spi::{Spi, SpiOp};
#[cfg(feature = "spi")]
use crate::modules::spi_async::AsyncSpi;
#[cfg(feature = "storage")]
use crate::modules::storage::KvStore;
#[cfg(feature = "uart")]
use crate::modules::uart::Uart;
#[cfg(any(feature = "rf", feature = "ble"))]
use crate::time::Instant;

/// Implements a module trait on [`SharedBoard`] by handing every method,
/// defaulted ones included, to the board's peripherals.
#[allow(unused_macros)]
macro_rules! forward_to_peripherals {
    ($trait:ident { $(fn $name:ident(&mut self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)* }) => {
        impl<O: 'static, const N: usize, X: $trait + Copy + 'static> $trait for SharedBoard<O, N, X> {
            $(fn $name(&mut self $(, $arg: $ty)*) -> $ret {
                self.peripherals.$name($($arg),*)
            })*
        }
    };
}

/// Implements a module trait on `&'static Shared<T>` by running every
/// method, defaulted ones included, on the driver inside the cell.
#[allow(unused_macros)]
macro_rules! forward_to_shared {
    ($trait:ident { $(fn $name:ident(&mut self $(, $arg:ident: $ty:ty)*) -> Result<$ok:ty, Errno>;)* }) => {
        impl<T: $trait> $trait for &'static Shared<T> {
            $(fn $name(&mut self $(, $arg: $ty)*) -> Result<$ok, Errno> {
                self.with(|driver| driver.$name($($arg),*))?
            })*
        }
    };
}

/// Both forwardings for traits whose methods all return `Result<_, Errno>`.
#[allow(unused_macros)]
macro_rules! forward {
    ($trait:ident $methods:tt) => {
        forward_to_peripherals!($trait $methods);
        forward_to_shared!($trait $methods);
    };
}

#[cfg(feature = "rng")]
forward!(Rng {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno>;
});
#[cfg(feature = "pwm")]
forward!(Pwm {
    fn max_duty(&mut self, channel: u32) -> Result<u16, Errno>;
    fn set_duty(&mut self, channel: u32, duty: u16) -> Result<(), Errno>;
    fn set_frequency(&mut self, channel: u32, hz: u32) -> Result<(), Errno>;
});
#[cfg(feature = "adc")]
forward!(Adc {
    fn resolution(&mut self, channel: u32) -> Result<u8, Errno>;
    fn read_raw(&mut self, channel: u32) -> Result<u16, Errno>;
    fn full_scale_mv(&mut self, channel: u32) -> Result<u32, Errno>;
    fn read_millivolts(&mut self, channel: u32) -> Result<u32, Errno>;
});
#[cfg(feature = "sensor")]
forward!(Sensors {
    fn kind(&mut self, channel: u32) -> Result<SensorKind, Errno>;
    fn read(&mut self, channel: u32) -> Result<Reading, Errno>;
});
#[cfg(feature = "spi")]
forward!(Spi {
    fn transaction(&mut self, device: u32, ops: &mut [embedded_hal::spi::Operation<'_, u8>]) -> Result<(), Errno>;
});
#[cfg(feature = "i2c")]
forward!(I2c {
    fn transaction(&mut self, bus: u32, addr: u8, ops: &mut [embedded_hal::i2c::Operation<'_>]) -> Result<(), Errno>;
});
#[cfg(feature = "uart")]
forward!(Uart {
    fn read(&mut self, port: u32, buf: &mut [u8]) -> Result<usize, Errno>;
    fn write(&mut self, port: u32, data: &[u8]) -> Result<usize, Errno>;
});
#[cfg(feature = "storage")]
forward_to_peripherals!(KvStore {
    fn get(&mut self, app: &str, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>, Errno>;
    fn set(&mut self, app: &str, key: &[u8], value: &[u8], quota: u32) -> Result<(), Errno>;
    fn remove(&mut self, app: &str, key: &[u8]) -> Result<bool, Errno>;
    fn used(&mut self, app: &str) -> Result<u32, Errno>;
    fn capacity(&mut self) -> Result<u32, Errno>;
});
#[cfg(feature = "rf")]
impl<O, const N: usize, X: Rf + Copy + 'static> Rf for SharedBoard<O, N, X> {
    fn configure(&mut self, app: u16, config: &LoraConfig) -> Result<(), Errno> {
        self.peripherals.configure(app, config)
    }

    fn config(&self, app: u16) -> Option<LoraConfig> {
        self.peripherals.config(app)
    }

    fn start(&mut self, app: u16, job: Job<'_>, deadline: Instant) -> Result<(), Errno> {
        self.peripherals.start(app, job, deadline)
    }

    fn poll(&mut self, app: u16, now: Instant, buf: &mut [u8]) -> Option<Result<Outcome, Errno>> {
        self.peripherals.poll(app, now, buf)
    }

    fn last_packet(&self, app: u16) -> Option<PacketInfo> {
        self.peripherals.last_packet(app)
    }

    fn release(&mut self, app: u16) {
        self.peripherals.release(app)
    }
}
#[cfg(feature = "ble")]
forward_to_peripherals!(Ble {
    fn start(&mut self, app: u16, job: BleJob, deadline: Instant) -> Result<(), Errno>;
    fn poll(&mut self, app: u16, now: Instant) -> Option<Result<(), Errno>>;
    fn next_report(&mut self, app: u16, now: Instant) -> Result<Option<ScanReport>, Errno>;
    fn release(&mut self, app: u16) -> ();
    fn gatt_declare(&mut self, app: u16, declaration: GattDeclaration) -> Result<u8, Errno>;
    fn gatt_start(&mut self, app: u16, job: GattJob, value: &[u8], deadline: Instant) -> Result<bool, Errno>;
    fn gatt_poll(&mut self, app: u16, now: Instant) -> Option<Result<(), Errno>>;
    fn gatt_next_event(&mut self, app: u16, now: Instant) -> Result<Option<GattEvent>, Errno>;
});
#[cfg(feature = "i2c")]
forward_to_peripherals!(AsyncI2c {
    fn start(&mut self, app: u16, bus: u32, addr: u8, write: [&[u8]; 2], read_len: usize) -> Result<(), Errno>;
    fn poll(&mut self, app: u16, bus: u32, read: &mut [u8]) -> Option<Result<(), Errno>>;
    fn release(&mut self, app: u16) -> ();
});
#[cfg(feature = "spi")]
forward_to_peripherals!(AsyncSpi {
    fn start(&mut self, app: u16, device: u32, op: SpiOp, write: &[u8], read_len: usize) -> Result<(), Errno>;
    fn poll(&mut self, app: u16, device: u32, read: &mut [u8]) -> Option<Result<(), Errno>>;
    fn release(&mut self, app: u16) -> ();
});

#[cfg(feature = "ble")]
impl<R> Ble for Peripherals<R> {
    fn start(&mut self, app: u16, job: BleJob, deadline: Instant) -> Result<(), Errno> {
        self.ble.ok_or(Errno::Unsupported)?.start(app, job, deadline)
    }

    fn poll(&mut self, app: u16, now: Instant) -> Option<Result<(), Errno>> {
        match self.ble {
            Some(mut controller) => controller.poll(app, now),
            None => Some(Err(Errno::Unsupported)),
        }
    }

    fn next_report(&mut self, app: u16, now: Instant) -> Result<Option<ScanReport>, Errno> {
        self.ble.ok_or(Errno::Unsupported)?.next_report(app, now)
    }

    fn release(&mut self, app: u16) {
        if let Some(mut controller) = self.ble {
            controller.release(app)
        }
    }

    fn gatt_declare(&mut self, app: u16, declaration: GattDeclaration) -> Result<u8, Errno> {
        self.ble.ok_or(Errno::Unsupported)?.gatt_declare(app, declaration)
    }

    fn gatt_start(&mut self, app: u16, job: GattJob, value: &[u8], deadline: Instant) -> Result<bool, Errno> {
        self.ble.ok_or(Errno::Unsupported)?.gatt_start(app, job, value, deadline)
    }

    fn gatt_poll(&mut self, app: u16, now: Instant) -> Option<Result<(), Errno>> {
        match self.ble {
            Some(mut controller) => controller.gatt_poll(app, now),
            None => Some(Err(Errno::Unsupported)),
        }
    }

    fn gatt_next_event(&mut self, app: u16, now: Instant) -> Result<Option<GattEvent>, Errno> {
        self.ble.ok_or(Errno::Unsupported)?.gatt_next_event(app, now)
    }
}

#[cfg(feature = "rf")]
impl<R> Rf for Peripherals<R> {
    fn configure(&mut self, app: u16, config: &LoraConfig) -> Result<(), Errno> {
        self.rf.ok_or(Errno::Unsupported)?.configure(app, config)
    }

    fn config(&self, app: u16) -> Option<LoraConfig> {
        self.rf?.config(app)
    }

    fn start(&mut self, app: u16, job: Job<'_>, deadline: Instant) -> Result<(), Errno> {
        self.rf.ok_or(Errno::Unsupported)?.start(app, job, deadline)
    }

    fn poll(&mut self, app: u16, now: Instant, buf: &mut [u8]) -> Option<Result<Outcome, Errno>> {
        match self.rf {
            Some(mut radio) => radio.poll(app, now, buf),
            None => Some(Err(Errno::Unsupported)),
        }
    }

    fn last_packet(&self, app: u16) -> Option<PacketInfo> {
        self.rf?.last_packet(app)
    }

    fn release(&mut self, app: u16) {
        if let Some(mut radio) = self.rf {
            radio.release(app)
        }
    }
}

#[cfg(feature = "i2c")]
impl<R> AsyncI2c for Peripherals<R> {
    fn start(&mut self, app: u16, bus: u32, addr: u8, write: [&[u8]; 2], read_len: usize) -> Result<(), Errno> {
        self.bus(bus).ok_or(Errno::NoSuchResource)?.start(app, addr, write, read_len)
    }

    fn poll(&mut self, app: u16, bus: u32, read: &mut [u8]) -> Option<Result<(), Errno>> {
        match self.bus(bus) {
            Some(mailbox) => mailbox.poll(app, read),
            None => Some(Err(Errno::NoSuchResource)),
        }
    }

    fn release(&mut self, app: u16) {
        self.i2c.iter().flatten().for_each(|mailbox| mailbox.release(app))
    }
}

#[cfg(feature = "spi")]
impl<R> AsyncSpi for Peripherals<R> {
    fn start(&mut self, app: u16, device: u32, op: SpiOp, write: &[u8], read_len: usize) -> Result<(), Errno> {
        self.device(device).ok_or(Errno::NoSuchResource)?.start(app, op, write, read_len)
    }

    fn poll(&mut self, app: u16, device: u32, read: &mut [u8]) -> Option<Result<(), Errno>> {
        match self.device(device) {
            Some(mailbox) => mailbox.poll(app, read),
            None => Some(Err(Errno::NoSuchResource)),
        }
    }

    fn release(&mut self, app: u16) {
        self.spi.iter().flatten().for_each(|mailbox| mailbox.release(app))
    }
}

#[cfg(feature = "uart")]
impl<R> Uart for Peripherals<R> {
    fn read(&mut self, port: u32, buf: &mut [u8]) -> Result<usize, Errno> {
        Ok(self.port(port)?.take(buf))
    }

    fn write(&mut self, port: u32, data: &[u8]) -> Result<usize, Errno> {
        Ok(self.port(port)?.queue(data))
    }
}

#[cfg(feature = "pwm")]
impl<R> Pwm for Peripherals<R> {
    fn max_duty(&mut self, channel: u32) -> Result<u16, Errno> {
        let route = self.pwm_route(channel)?;
        route.driver.max_duty(route.channel)
    }

    fn set_duty(&mut self, channel: u32, duty: u16) -> Result<(), Errno> {
        let route = self.pwm_route(channel)?;
        route.driver.set_duty(route.channel, duty)
    }

    fn set_frequency(&mut self, channel: u32, hz: u32) -> Result<(), Errno> {
        let route = self.pwm_route(channel)?;
        route.driver.set_frequency(route.channel, hz)
    }
}

#[cfg(feature = "adc")]
impl<R> Adc for Peripherals<R> {
    fn resolution(&mut self, channel: u32) -> Result<u8, Errno> {
        let route = self.adc_route(channel)?;
        route.driver.resolution(route.channel)
    }

    fn read_raw(&mut self, channel: u32) -> Result<u16, Errno> {
        let route = self.adc_route(channel)?;
        route.driver.read_raw(route.channel)
    }

    fn full_scale_mv(&mut self, channel: u32) -> Result<u32, Errno> {
        let route = self.adc_route(channel)?;
        route.driver.full_scale_mv(route.channel)
    }

    fn read_millivolts(&mut self, channel: u32) -> Result<u32, Errno> {
        let route = self.adc_route(channel)?;
        route.driver.read_millivolts(route.channel)
    }
}

#[cfg(feature = "storage")]
impl<R> KvStore for Peripherals<R> {
    fn get(&mut self, app: &str, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        self.kv()?.get(app, key, buf)
    }

    fn set(&mut self, app: &str, key: &[u8], value: &[u8], quota: u32) -> Result<(), Errno> {
        self.kv()?.set(app, key, value, quota)
    }

    fn remove(&mut self, app: &str, key: &[u8]) -> Result<bool, Errno> {
        self.kv()?.remove(app, key)
    }

    fn used(&mut self, app: &str) -> Result<u32, Errno> {
        self.kv()?.used(app)
    }

    fn capacity(&mut self) -> Result<u32, Errno> {
        self.kv()?.capacity()
    }
}

#[cfg(feature = "rng")]
impl<R: Rng> Rng for Peripherals<R> {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        let mut rng = self.rng.ok_or(Errno::Unsupported)?;
        rng.fill(buf)
    }
}
