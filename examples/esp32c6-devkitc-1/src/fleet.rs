//! Wi-Fi and the fleet agent (feature `fleet`): the device joins a WPA2
//! network, connects out to an MQTT broker and takes its apps from
//! `akira fleet` rollouts instead of UART0 (docs/fleet.md). The broker is
//! untrusted: packages are verified chunk by chunk against the device's
//! trust policy exactly as over the UART.
//!
//! Set at build time (environment variables, read by `option_env!` so that
//! a build without them still compiles and says at boot what is missing):
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `AKIRA_WIFI_SSID` | the network's name | none: Wi-Fi stays off |
//! | `AKIRA_WIFI_PASSWORD` | its WPA2 passphrase | empty (open network) |
//! | `AKIRA_BROKER` | `host:port` or `a.b.c.d:port` of the broker | none |
//! | `AKIRA_FLEET_GROUP` | the device's rollout group | `default` |
//! | `AKIRA_MQTT_USER`, `AKIRA_MQTT_PASSWORD` | broker credentials | none |
//!
//! TLS is not built: esp-radio gives TCP only, and a TLS 1.3 client with
//! client certificates (embedded-tls) is not wired in yet. Use the
//! broker's user and password and a network you control, or a broker-side
//! TLS terminator on the local network.

use core::net::SocketAddrV4;

use akira_bridge::Board;
use akira_device::Device;
use akira_fleet::{Agent, AgentConfig};
use embassy_executor::Spawner;
use embassy_net::dns::DnsQueryType;
use embassy_net::tcp::TcpSocket;
use embassy_net::{IpAddress, IpEndpoint, Runner, Stack, StackResources};
use embassy_time::{Duration, Timer};
use embedded_storage_async::nor_flash::NorFlash;
use esp_hal::peripherals::WIFI;
use esp_hal::rng::Rng;
use esp_println::println;
use esp_radio::wifi::sta::StationConfig;
use esp_radio::wifi::{AuthenticationMethodConfig, Config, Interface, WifiController};
use static_cell::StaticCell;

const SSID: Option<&str> = option_env!("AKIRA_WIFI_SSID");
const PASSWORD: &str = match option_env!("AKIRA_WIFI_PASSWORD") {
    Some(password) => password,
    None => "",
};
const BROKER: Option<&str> = option_env!("AKIRA_BROKER");
const GROUP: &str = match option_env!("AKIRA_FLEET_GROUP") {
    Some(group) => group,
    None => "default",
};
const MQTT_USER: Option<&str> = option_env!("AKIRA_MQTT_USER");
const MQTT_PASSWORD: Option<&str> = option_env!("AKIRA_MQTT_PASSWORD");

/// The agent's TCP buffers: one MQTT packet of a package chunk (1 KiB of
/// wasm in a frame) fits several times.
const SOCKET_BUFFER: usize = 4096;

/// Brings Wi-Fi and the network stack up, then runs the agent for ever,
/// reconnecting to the broker whenever the connection ends; the device's
/// apps run meanwhile (the agent drives the device loop). Returns only when
/// the link cannot start (why, for the console): without `AKIRA_WIFI_SSID`
/// and `AKIRA_BROKER` set at build time, or when the Wi-Fi driver fails;
/// the firmware then takes packages on UART0 as without the feature.
pub async fn serve<B, F>(spawner: Spawner, wifi: WIFI<'static>, device: &mut Device<'_, B, F>) -> &'static str
where
    B: Board + Clone,
    F: NorFlash,
{
    let (Some(ssid), Some(broker)) = (SSID, BROKER) else {
        return "AKIRA_WIFI_SSID and AKIRA_BROKER were not set at build time";
    };
    let stack = match start_network(spawner, wifi, ssid) {
        Ok(stack) => stack,
        Err(why) => return why,
    };
    let Ok(mut agent) = Agent::new(GROUP) else { return "AKIRA_FLEET_GROUP is too long" };
    let config = AgentConfig {
        group: GROUP,
        user: MQTT_USER,
        password: MQTT_PASSWORD.map(str::as_bytes),
        ..AgentConfig::default()
    };
    let mut rx = [0u8; SOCKET_BUFFER];
    let mut tx = [0u8; SOCKET_BUFFER];
    loop {
        let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
        // A broker that stops answering is noticed by MQTT's keep-alive;
        // this only bounds a connection attempt.
        socket.set_timeout(Some(Duration::from_secs(60)));
        let connect = async {
            stack.wait_config_up().await;
            let Some(endpoint) = resolve(stack, broker).await else {
                return Err("cannot resolve the broker's name");
            };
            socket.connect(endpoint).await.map_err(|_| "cannot reach the broker")
        };
        // The apps run while Wi-Fi, DHCP or the broker are away (the agent
        // drives the device loop only while it is connected).
        match device.run_until(connect, akira_hal_esp::idle, crate::note).await {
            Ok(()) => {
                println!("fleet: connected to {}", broker);
                if let Err(e) = agent.run(device, &mut socket, &config, akira_hal_esp::idle, crate::note).await {
                    println!("fleet: {}; reconnecting", e);
                }
                socket.abort();
                let _ = socket.flush().await;
            }
            Err(why) => println!("fleet: {} ({})", why, broker),
        }
        drop(socket);
        device.run_until(Timer::after(Duration::from_secs(2)), akira_hal_esp::idle, crate::note).await;
    }
}

/// Starts the Wi-Fi station (a task that keeps it connected) and the
/// network stack (a task that runs it, DHCP for the address).
fn start_network(spawner: Spawner, wifi: WIFI<'static>, ssid: &'static str) -> Result<Stack<'static>, &'static str> {
    let mut controller = WifiController::new(wifi, Default::default()).map_err(|_| "Wi-Fi controller")?;
    let station = StationConfig::default()
        .with_ssid(ssid.try_into().map_err(|_| "AKIRA_WIFI_SSID is too long")?)
        .with_authentication(if PASSWORD.is_empty() {
            AuthenticationMethodConfig::Open
        } else {
            AuthenticationMethodConfig::Wpa2Personal(
                PASSWORD.try_into().map_err(|_| "AKIRA_WIFI_PASSWORD is too long")?,
            )
        });
    controller.set_config(&Config::Station(station)).map_err(|_| "Wi-Fi configuration")?;
    let rng = Rng::new();
    let seed = u64::from(rng.random()) << 32 | u64::from(rng.random());
    static RESOURCES: StaticCell<StackResources<3>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(
        Interface::station(),
        embassy_net::Config::dhcpv4(Default::default()),
        RESOURCES.init(StackResources::new()),
        seed,
    );
    spawner.spawn(keep_connected(controller).map_err(|_| "Wi-Fi task pool full")?);
    spawner.spawn(run_network(runner).map_err(|_| "network task pool full")?);
    Ok(stack)
}

/// `host:port`: an IPv4 address as it is, a name through the network's DNS.
async fn resolve(stack: Stack<'static>, broker: &str) -> Option<IpEndpoint> {
    if let Ok(address) = broker.parse::<SocketAddrV4>() {
        return Some(IpEndpoint::new(IpAddress::Ipv4(*address.ip()), address.port()));
    }
    let (host, port) = broker.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let addresses = stack.dns_query(host, DnsQueryType::A).await.ok()?;
    let address = addresses.first()?;
    Some(IpEndpoint::new(*address, port))
}

/// Connects the station and connects it again whenever it drops.
#[embassy_executor::task]
async fn keep_connected(mut controller: WifiController<'static>) {
    loop {
        match controller.connect_async().await {
            Ok(_) => {
                println!("fleet: Wi-Fi connected");
                let _ = controller.wait_for_disconnect_async().await;
                println!("fleet: Wi-Fi disconnected");
            }
            Err(e) => println!("fleet: Wi-Fi: {:?}", e),
        }
        Timer::after(Duration::from_secs(5)).await;
    }
}

#[embassy_executor::task]
async fn run_network(mut runner: Runner<'static, Interface>) {
    runner.run().await
}
