//! `akira:sensor`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::Type::{I32, Ptr, U32};
use crate::{CItem, Cost, Function, Module, Param, Pointee};

/// The `akira:sensor` module.
pub static SENSOR: Module = Module {
    name: "sensor",
    import: "akira:sensor",
    capability: "sensor",
    scope: r#"channels"#,
    doc: r#"Typed sensor channels by number 0–31 (each board documents what its
channels measure); the manifest grants channels (`sensor = [0, 3]`). Each
call checks its channel with one bit test. Values are integers in a fixed
unit per kind, so no reading needs a float; they can be negative, so
`read` writes them to the app's memory:

| kind | code | values | unit |
|---|---|---|---|
| temperature | 1 | 1 | m°C (milli-degree Celsius) |
| relative humidity | 2 | 1 | 0.001 %RH |
| pressure | 3 | 1 | Pa |
| acceleration | 4 | 3 (x, y, z) | mm/s² |
| angular rate | 5 | 3 (x, y, z) | milli-degree per second |
| magnetic field | 6 | 3 (x, y, z) | nT |
| illuminance | 7 | 1 | mlx (millilux) |
| distance | 8 | 1 | mm |
| CO₂ concentration | 9 | 1 | ppm |
| voltage | 10 | 1 | mV |
| current | 11 | 1 | mA |"#,
    functions: &[
        Function {
            name: "kind",
            params: &[Param::new("channel", I32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::CHEAP,
            #[cfg(feature = "docs")]
            doc: r#"`kind(channel)`: the kind code of the table above."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
        Function {
            name: "read",
            params: &[Param::new("channel", I32), Param::new("values", Ptr(Pointee::I32)), Param::new("len", U32)],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::bytes(100, 1, 16),
            #[cfg(feature = "docs")]
            doc: r#"`read(channel, ptr, len)`: measures and writes the values as little-endian `i32`s at `ptr`; returns how many (1 or 3). `len` smaller than 4 × that is `AKIRA_ENOSPC`; a sensor that does not answer `AKIRA_EIO`, one with no fresh value `AKIRA_EBUSY`."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Writes 1 or 3 int32_t values to `values`; returns how many."#,
        },
    ],
    c_items: &[
        CItem::Define { name: "AKIRA_SENSOR_TEMPERATURE", value: "1", comment: r#"m°C"# },
        CItem::Define { name: "AKIRA_SENSOR_HUMIDITY", value: "2", comment: r#"0.001 %RH"# },
        CItem::Define { name: "AKIRA_SENSOR_PRESSURE", value: "3", comment: r#"Pa"# },
        CItem::Define { name: "AKIRA_SENSOR_ACCELERATION", value: "4", comment: r#"mm/s², x y z"# },
        CItem::Define { name: "AKIRA_SENSOR_ANGULAR_RATE", value: "5", comment: r#"milli-degrees/s, x y z"# },
        CItem::Define { name: "AKIRA_SENSOR_MAGNETIC_FIELD", value: "6", comment: r#"nT, x y z"# },
        CItem::Define { name: "AKIRA_SENSOR_ILLUMINANCE", value: "7", comment: r#"mlx"# },
        CItem::Define { name: "AKIRA_SENSOR_DISTANCE", value: "8", comment: r#"mm"# },
        CItem::Define { name: "AKIRA_SENSOR_CO2", value: "9", comment: r#"ppm"# },
        CItem::Define { name: "AKIRA_SENSOR_VOLTAGE", value: "10", comment: r#"mV"# },
        CItem::Define { name: "AKIRA_SENSOR_CURRENT", value: "11", comment: r#"mA"# },
        CItem::Blank,
        CItem::Import("kind"),
        CItem::Import("read"),
    ],
};
