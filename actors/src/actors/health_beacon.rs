//! `HealthBeacon`: four times a second reads this process's memory and decides, with what the
//! peers last said, whether creates are refused (`MemoryGuard`); once a second hands this
//! node's beacon to the relay that publishes it (`log::relay_beacons`). Own arbiter-free: a
//! tick costs microseconds (two small files read).

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::watch;

use super::LogProgress;
use crate::health::{Beacon, MemoryGuard, PeerBoard};
use crate::memory::MemoryProbe;
use crate::read_view::ReadView;
use crate::supervision::{guarded, Supervisable, Supervision};

/// How often memory is read and the guard decides.
const TICK: Duration = Duration::from_millis(250);
/// A beacon goes out every this many ticks (once a second).
const TICKS_PER_BEACON: u64 = 4;

/// Who this node is, as its beacons say.
#[derive(Debug, Clone, Default)]
pub struct BeaconIdentity {
    pub instance: String,
    pub role: String,
    pub site: String,
}

/// What the beacon reads and whom it tells.
pub struct HealthSources {
    pub progress: Arc<LogProgress>,
    pub view: Arc<ReadView>,
    pub board: Arc<PeerBoard>,
    pub guard: Arc<MemoryGuard>,
}

pub struct HealthBeacon {
    identity: BeaconIdentity,
    probe: MemoryProbe,
    sources: HealthSources,
    outbox: watch::Sender<Option<Beacon>>,
    ticks: u64,
    supervision: Supervision,
}

impl HealthBeacon {
    pub fn new(
        identity: BeaconIdentity,
        probe: MemoryProbe,
        sources: HealthSources,
        outbox: watch::Sender<Option<Beacon>>,
        supervision: Supervision,
    ) -> Self {
        HealthBeacon { identity, probe, sources, outbox, ticks: 0, supervision }
    }

    fn beacon(&self) -> Beacon {
        Beacon {
            instance: self.identity.instance.clone(),
            role: self.identity.role.clone(),
            site: self.identity.site.clone(),
            next_offset: self.sources.progress.next_offset(),
            bards: self.sources.view.len() as u64,
            memory: self.probe.read(),
        }
    }

    fn tick(&mut self) {
        let beacon = self.beacon();
        self.sources.guard.update(&beacon, &self.sources.board);
        if self.ticks.is_multiple_of(TICKS_PER_BEACON) {
            // Nobody listening (no broker, standalone) is fine: the guard still works locally.
            self.outbox.send_replace(Some(beacon));
        }
        self.ticks += 1;
    }
}

impl Actor for HealthBeacon {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.supervision.hold_back(ctx);
        ctx.run_interval(TICK, |beacon, ctx| {
            guarded(beacon, ctx, |beacon, _| beacon.tick());
        });
    }
}

/// Nothing to reset: the next tick reads everything afresh.
impl Supervised for HealthBeacon {}

impl Supervisable for HealthBeacon {
    fn supervision(&mut self) -> &mut Supervision {
        &mut self.supervision
    }
}
