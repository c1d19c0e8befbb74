//! [`SensorKind`]: what a channel measures, in which unit, with how many
//! values (the codes apps see).

/// What a sensor channel measures (the codes `kind` returns).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
#[non_exhaustive]
pub enum SensorKind {
    /// m°C.
    Temperature = 1,
    /// 0.001 %RH.
    Humidity = 2,
    /// Pa.
    Pressure = 3,
    /// mm/s², x, y, z.
    Acceleration = 4,
    /// milli-degrees per second, x, y, z.
    AngularRate = 5,
    /// nT, x, y, z.
    MagneticField = 6,
    /// mlx.
    Illuminance = 7,
    /// mm.
    Distance = 8,
    /// ppm.
    Co2 = 9,
    /// mV.
    Voltage = 10,
    /// mA.
    Current = 11,
}

impl SensorKind {
    /// Every kind, in code order.
    pub const ALL: [SensorKind; 11] = [
        SensorKind::Temperature,
        SensorKind::Humidity,
        SensorKind::Pressure,
        SensorKind::Acceleration,
        SensorKind::AngularRate,
        SensorKind::MagneticField,
        SensorKind::Illuminance,
        SensorKind::Distance,
        SensorKind::Co2,
        SensorKind::Voltage,
        SensorKind::Current,
    ];

    /// The code apps see.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// How many values a reading has.
    pub const fn values(self) -> usize {
        match self {
            SensorKind::Acceleration | SensorKind::AngularRate | SensorKind::MagneticField => 3,
            _ => 1,
        }
    }

    /// Lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            SensorKind::Temperature => "temperature",
            SensorKind::Humidity => "humidity",
            SensorKind::Pressure => "pressure",
            SensorKind::Acceleration => "acceleration",
            SensorKind::AngularRate => "angular rate",
            SensorKind::MagneticField => "magnetic field",
            SensorKind::Illuminance => "illuminance",
            SensorKind::Distance => "distance",
            SensorKind::Co2 => "CO2",
            SensorKind::Voltage => "voltage",
            SensorKind::Current => "current",
        }
    }

    /// The unit of its values.
    pub const fn unit(self) -> &'static str {
        match self {
            SensorKind::Temperature => "m°C",
            SensorKind::Humidity => "m%RH",
            SensorKind::Pressure => "Pa",
            SensorKind::Acceleration => "mm/s²",
            SensorKind::AngularRate => "mdps",
            SensorKind::MagneticField => "nT",
            SensorKind::Illuminance => "mlx",
            SensorKind::Distance => "mm",
            SensorKind::Co2 => "ppm",
            SensorKind::Voltage => "mV",
            SensorKind::Current => "mA",
        }
    }
}
