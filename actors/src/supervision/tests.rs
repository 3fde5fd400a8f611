use super::*;

/// A toy supervised actor: `Boom` panics inside its handler, `Count` answers how many `Add`s the
/// current incarnation saw (its factory starts every incarnation at zero).
struct Counter {
    supervision: Supervision,
    added: u64,
    incarnation: u64,
}

impl Actor for Counter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.supervision.hold_back(ctx);
    }
}

impl Supervised for Counter {
    fn restarting(&mut self, _: &mut Self::Context) {
        self.added = 0;
        self.incarnation += 1;
    }
}

impl Supervisable for Counter {
    fn supervision(&mut self) -> &mut Supervision {
        &mut self.supervision
    }
}

#[derive(Message)]
#[rtype(result = "Option<()>")]
struct Boom;

#[derive(Message)]
#[rtype(result = "Option<(u64, u64)>")]
struct Add;

impl Handler<Boom> for Counter {
    type Result = Option<()>;

    fn handle(&mut self, _: Boom, ctx: &mut Self::Context) -> Self::Result {
        guarded(self, ctx, |_, _| panic!("injected failure"))
    }
}

impl Handler<Add> for Counter {
    type Result = Option<(u64, u64)>;

    fn handle(&mut self, _: Add, ctx: &mut Self::Context) -> Self::Result {
        guarded(self, ctx, |counter, _| {
            counter.added += 1;
            (counter.incarnation, counter.added)
        })
    }
}

fn policy(initial_ms: u64) -> RestartPolicy {
    RestartPolicy {
        initial: Duration::from_millis(initial_ms),
        max: Duration::from_millis(initial_ms * 4),
        stable_after: Duration::from_secs(60),
    }
}

fn start_counter(board: &Arc<RestartBoard>, initial_ms: u64) -> Addr<Counter> {
    let supervision = Supervision::new("counter", board, policy(initial_ms));
    actix::Supervisor::start(move |_| Counter { supervision, added: 0, incarnation: 0 })
}

#[actix::test]
async fn a_panicking_handler_leaves_a_live_mailbox_and_a_fresh_actor() {
    let board = Arc::new(RestartBoard::default());
    let counter = start_counter(&board, 1);
    assert_eq!(counter.send(Add).await.unwrap(), Some((0, 1)));
    assert_eq!(board.restarts("counter"), 0, "registered with zero restarts");
    assert_eq!(counter.send(Boom).await.unwrap(), None, "the caller learns the handler failed");
    assert_eq!(counter.send(Add).await.unwrap(), Some((1, 1)), "same address, rebuilt actor");
    let record = &board.snapshot()["counter"];
    assert_eq!(record.restarts, 1);
    assert_eq!(record.last_failure.as_deref(), Some("panicked: injected failure"));
    assert!(record.last_restart_unix.is_some());
}

#[actix::test]
async fn restarts_back_off_exponentially_up_to_the_cap() {
    let board = Arc::new(RestartBoard::default());
    let counter = start_counter(&board, 40);
    let mut waits = vec![];
    for _ in 0..4 {
        counter.send(Boom).await.unwrap();
        let started = Instant::now();
        counter.send(Add).await.unwrap().expect("answered after the restart");
        waits.push(started.elapsed());
    }
    // 40, 80, 160, then capped at 160 ms.
    for (wait, floor) in waits.iter().zip([40, 80, 160, 160]) {
        assert!(*wait >= Duration::from_millis(floor), "waits {waits:?}");
    }
    assert!(waits[3] < Duration::from_millis(320), "capped: {waits:?}");
    assert_eq!(board.restarts("counter"), 4);
    assert_eq!(board.total(), 4);
}

#[test]
fn delay_doubles_from_initial_and_stops_at_max() {
    let policy = policy(10);
    let delays: Vec<u64> = (1..=5).map(|n| policy.delay(n).as_millis() as u64).collect();
    assert_eq!(delays, [10, 20, 40, 40, 40]);
    assert_eq!(RestartPolicy::default().delay(100), Duration::from_secs(5));
}
