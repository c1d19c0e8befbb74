//! The simulated GATT side of [`SimBle`]: each device serves its serving
//! apps' tables merged, the phone's operations reach the app that
//! declared the characteristic, and a table change disconnects it (see
//! the module docs).

use super::*;

impl SimBle {
    /// The apps of `device` serving GATT, in app order (the merged
    /// table's).
    fn serving(&self, device: u16) -> Vec<RadioId> {
        self.servers.iter().filter(|(id, s)| s.serving && device_of(**id) == device).map(|(id, _)| *id).collect()
    }

    /// Restarts `device`'s server at `now` (its table changed, or the
    /// phone left): the first serving app's connectable advertising, none
    /// while the phone is connected.
    fn restart(&mut self, device: u16, now: Instant) {
        let connected = self.phone.connected_to == Some(device);
        for (k, id) in self.serving(device).into_iter().enumerate() {
            if let Some((_, next)) = self.servers.get_mut(&id).and_then(|s| s.advertising.as_mut()) {
                *next = (k == 0 && !connected).then_some(now);
            }
        }
    }

    /// `device`'s table changed at `now` with app `app` joining or
    /// leaving: a connected phone is disconnected and the other serving
    /// apps told. Returns what the phone saw.
    fn table_changed(&mut self, device: u16, app: RadioId, now: Instant) -> Option<String> {
        let seen = (self.phone.connected_to == Some(device)).then(|| {
            self.phone = Phone::default();
            for id in self.serving(device).into_iter().filter(|id| *id != app) {
                self.event(id, GattEvent::Disconnected { reason: TABLE_CHANGED });
            }
            "disconnected by the peripheral: its table changed".to_string()
        });
        self.restart(device, now);
        seen
    }

    /// Adds to app `app`'s GATT table ([`Errno::Busy`] while it serves,
    /// or when [`GATT_APPS`] other apps of its device hold tables).
    pub fn gatt_declare(&mut self, app: RadioId, declaration: GattDeclaration) -> Result<u8, Errno> {
        let device = device_of(app);
        let holders = self.servers.keys().filter(|id| device_of(**id) == device && **id != app).count();
        if !self.servers.contains_key(&app) && holders >= GATT_APPS {
            return Err(Errno::Busy);
        }
        let server = self.servers.entry(app).or_default();
        if server.serving {
            return Err(Errno::Busy);
        }
        let handle = server.table.declare(declaration)?;
        server.values.resize(server.table.characteristics().len(), Vec::new());
        Ok(handle)
    }

    /// Carries out app `app`'s GATT job; returns what the phone saw (a
    /// notification, a disconnection), if anything, and `false` when
    /// there was nothing to do.
    pub fn gatt_start(
        &mut self,
        app: RadioId,
        now: Instant,
        job: GattJob,
        value: &[u8],
    ) -> Result<(bool, Option<String>), Errno> {
        self.settle(now);
        let device = device_of(app);
        let Some(server) = self.servers.get(&app) else {
            return if job == GattJob::Stop { Ok((false, None)) } else { Err(Errno::Invalid) };
        };
        server.table.check(&job, value.len())?;
        let serving = server.serving;
        let mut seen = None;
        match job {
            GattJob::Start(_) if serving => return Err(Errno::Busy),
            GattJob::Start(config) => {
                // Its table must fit beside the others' in one.
                let mut merged = GattTable::EMPTY;
                for id in self.serving(device).into_iter().chain([app]) {
                    merged.append(&self.servers[&id].table)?;
                }
                let server = self.servers.get_mut(&app).ok_or(Errno::Invalid)?;
                server.serving = true;
                server.advertising = Some((config, None));
                seen = self.table_changed(device, app, now);
            }
            GattJob::SetValue(_) | GattJob::Notify(_) if !serving => return Err(Errno::Invalid),
            GattJob::SetValue(h) | GattJob::Notify(h) => {
                let server = self.servers.get_mut(&app).ok_or(Errno::Invalid)?;
                server.values[usize::from(h)] = value.to_vec();
                let uuid = server.table.characteristic(h).map(|c| c.uuid.to_string()).unwrap_or_default();
                let subscribed = self.phone.subscribed.contains(&(app, h));
                if matches!(job, GattJob::Notify(_)) && self.phone.connected_to == Some(device) && subscribed {
                    seen = Some(format!("notified {uuid} {}", Hex(value)));
                }
            }
            GattJob::Stop => {
                self.servers.insert(app, AppServer::default());
                if serving {
                    seen = self.table_changed(device, app, now);
                }
            }
        }
        if let Some(server) = self.servers.get_mut(&app) {
            server.done = Some(Ok(()));
        }
        self.deliveries += 1;
        // An advertising event due now reaches the scanners at once.
        self.settle(now);
        Ok((true, seen))
    }

    /// App `app`'s GATT job result.
    pub fn gatt_poll(&mut self, app: RadioId) -> Option<Result<(), Errno>> {
        Some(self.servers.get_mut(&app).and_then(|s| s.done.take()).unwrap_or(Err(Errno::Invalid)))
    }

    /// The oldest GATT event queued for app `app`.
    pub fn gatt_next_event(&mut self, app: RadioId) -> Result<Option<GattEvent>, Errno> {
        let server = self.servers.get_mut(&app).filter(|s| s.serving).ok_or(Errno::Invalid)?;
        Ok(server.events.pop_front())
    }

    /// Forgets app `app`'s GATT server (it stopped running); returns what
    /// the phone saw.
    pub(super) fn forget_server(&mut self, app: RadioId) -> Option<String> {
        let serving = self.servers.remove(&app).is_some_and(|s| s.serving);
        self.phone.subscribed.retain(|(id, _)| *id != app);
        if serving { self.table_changed(device_of(app), app, self.now) } else { None }
    }

    /// Queues `event` for app `app`'s server.
    fn event(&mut self, app: RadioId, event: GattEvent) {
        if let Some(server) = self.servers.get_mut(&app) {
            if server.events.len() == QUEUE {
                server.events.pop_front();
            }
            server.events.push_back(event);
            self.deliveries += 1;
        }
    }

    /// The serving app of the phone's device that declared `uuid`, and
    /// its handle, if the characteristic has one of the properties
    /// `needs`.
    fn find(&self, uuid: &Uuid, needs: u8) -> Result<(RadioId, u8), String> {
        let device = self.phone.connected_to.ok_or("not connected")?;
        let found = self.serving(device).into_iter().find_map(|id| Some((id, self.servers[&id].table.find(uuid)?)));
        let (app, h) = found.ok_or_else(|| format!("no characteristic {uuid}"))?;
        match self.servers[&app].table.characteristic(h) {
            Some(c) if c.properties & needs != 0 => Ok((app, h)),
            _ => Err(format!("{uuid}: not permitted")),
        }
    }

    /// The phone does `op`: returns what it saw, or why it could not.
    pub fn central(&mut self, op: &CentralOp, now: Instant) -> Result<String, String> {
        self.settle(now);
        let (app, event, seen) = match op {
            CentralOp::Connect => {
                if self.phone.connected_to.is_some() {
                    return Err("already connected".into());
                }
                // The map is ordered: the first serving is the lowest-numbered.
                let lead =
                    self.servers.iter().find(|(_, s)| s.serving).map(|(id, _)| *id).ok_or("no app serves GATT")?;
                let device = device_of(lead);
                self.phone.connected_to = Some(device);
                // Connected: the device stops advertising.
                self.restart(device, now);
                for id in self.serving(device) {
                    self.event(id, GattEvent::Connected { address: PHONE, address_kind: 1 });
                }
                let a = address(lead).iter().rev().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
                return Ok(format!("connected to {a}"));
            }
            CentralOp::Disconnect => {
                let device = self.phone.connected_to.ok_or("not connected")?;
                self.phone = Phone::default();
                // Advertising again from now.
                self.restart(device, now);
                for id in self.serving(device) {
                    self.event(id, GattEvent::Disconnected { reason: PHONE_DISCONNECTED });
                }
                return Ok("disconnected".to_string());
            }
            CentralOp::Read(uuid) => {
                let (app, h) = self.find(uuid, property::READ)?;
                return Ok(format!("read {uuid} {}", Hex(&self.servers[&app].values[usize::from(h)])));
            }
            CentralOp::Write(uuid, bytes) => {
                let (app, h) = self.find(uuid, property::WRITE | property::WRITE_WITHOUT_RESPONSE)?;
                let server = self.servers.get_mut(&app).ok_or("not connected")?;
                let max = server.table.characteristic(h).map_or(0, |c| usize::from(c.max_len));
                if bytes.len() > max {
                    return Err(format!("write {uuid}: {} bytes, at most {max}", bytes.len()));
                }
                server.values[usize::from(h)] = bytes.clone();
                let value = Value::new(bytes).map_err(|e| e.to_string())?;
                (app, GattEvent::Written { characteristic: h, value }, format!("wrote {uuid} {}", Hex(bytes)))
            }
            CentralOp::Subscribe(uuid) => {
                let (app, h) = self.find(uuid, property::NOTIFY)?;
                if !self.phone.subscribed.contains(&(app, h)) {
                    self.phone.subscribed.push((app, h));
                }
                (app, GattEvent::Subscribed { characteristic: h }, format!("subscribed to {uuid}"))
            }
            CentralOp::Unsubscribe(uuid) => {
                let (app, h) = self.find(uuid, property::NOTIFY)?;
                self.phone.subscribed.retain(|s| *s != (app, h));
                (app, GattEvent::Unsubscribed { characteristic: h }, format!("unsubscribed from {uuid}"))
            }
        };
        self.event(app, event);
        Ok(seen)
    }
}
