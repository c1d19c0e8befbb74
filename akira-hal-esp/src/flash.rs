//! The SPI flash shared by the OTA store and the apps' key-value store.

use core::cell::RefCell;

use akira_bridge::FlashKv;
use embassy_embedded_hal::flash::partition::BlockingPartition;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use esp_storage::FlashStorage;

/// The SPI flash in a critical-section mutex, for a `static` the
/// partitions borrow: `FLASH.init(Mutex::new(RefCell::new(FlashStorage::new(p.FLASH))))`.
pub type SharedFlash = Mutex<CriticalSectionRawMutex, RefCell<FlashStorage<'static>>>;

/// A window of the SPI flash (a partition of the partition table):
/// addresses from 0 to its size. Implements embedded-storage's `NorFlash`
/// with 4 KiB sectors.
pub type FlashPartition = BlockingPartition<'static, CriticalSectionRawMutex, FlashStorage<'static>>;

/// A partition of the SPI flash at `offset` (bytes, sector-aligned) of
/// `size` bytes.
pub fn partition(flash: &'static SharedFlash, offset: u32, size: u32) -> FlashPartition {
    BlockingPartition::new(flash, offset, size)
}

/// The apps' key-value store (`akira:storage`) on a flash partition, for
/// a [`Shared`](akira_bridge::Shared) cell in
/// [`Peripherals::storage`](akira_bridge::Peripherals::storage):
/// `FlashKv::new(partition(flash, offset, size), 0..size)`. A write that
/// erases a sector holds the cell's critical section for the erase (tens
/// of milliseconds); the flash is unusable for code fetches then anyway.
pub type AppStorage = FlashKv<FlashPartition>;
