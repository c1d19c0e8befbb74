//! A dimmer: the potentiometer on analog channel 0 sets the brightness of
//! the LED on PWM channel 0, twice a second, ten times; then a short beep
//! on the buzzer (PWM channel 3) at 440 Hz. On the simulated board the
//! potentiometer sweeps 0–3.3 V over 10 s.
#![no_std]

use akira_app::adc;
use akira_app::pwm::Channel;
use akira_app::{info, timer};

fn run() -> akira_app::Result<()> {
    let knob = adc::Channel::new(0);
    let mut led = Channel::new(0)?;
    let full_scale = 3300;
    for _ in 0..10 {
        let mv = knob.millivolts()?.min(full_scale);
        led.set_fraction(mv as u16, full_scale as u16)?;
        info!("knob {mv} mV -> LED {}%", mv * 100 / full_scale);
        timer::sleep_ms(500);
    }
    let mut buzzer = Channel::new(3)?;
    buzzer.set_frequency(440)?;
    buzzer.set_percent(50)?;
    timer::sleep_ms(200);
    buzzer.off()?;
    led.off()?;
    Ok(())
}

akira_app::main!(run);
