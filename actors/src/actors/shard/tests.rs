use super::*;
use crate::model::{BirthDate, NewBard};
use uuid::Uuid;

fn created(id: u128, apelido: &str) -> Event {
    let new = NewBard {
        apelido: apelido.into(),
        nome: "Nome".into(),
        nascimento: BirthDate::parse("1999-01-02").unwrap(),
        stack: None,
    };
    Event::BardCreated(BardCreated { bard: Arc::new(new.into_bard(Uuid::from_u128(id))) })
}

fn bard_of(event: &Event) -> Arc<crate::model::Bard> {
    match event {
        Event::BardCreated(created) => Arc::clone(&created.bard),
        Event::LogBarrier(_) => unreachable!(),
    }
}

/// Test-only fault injection: a handler that panics.
#[derive(Message)]
#[rtype(result = "Option<()>")]
struct FailNow;

impl Handler<FailNow> for Shard {
    type Result = Option<()>;

    fn handle(&mut self, _: FailNow, ctx: &mut Self::Context) -> Self::Result {
        guarded(self, ctx, |_, _| panic!("injected shard failure"))
    }
}

#[actix::test]
async fn a_failed_shard_keeps_its_mailbox_and_rebuilds_its_partition_from_the_view() {
    let view = Arc::new(ReadView::default());
    let published = [created(1, "ana"), created(2, "bia")];
    view.publish(&published.iter().map(bard_of).collect::<Vec<_>>());
    let board = Arc::new(RestartBoard::default());
    let source = ShardSource { view: Arc::clone(&view), number: 0, count: 1 };
    let policy = RestartPolicy { initial: std::time::Duration::from_millis(1), ..RestartPolicy::default() };
    let factory_board = Arc::clone(&board);
    let shard = actix::Supervisor::start(move |_| Shard::new(source, &factory_board, policy));
    let before = shard.send(ReportShard).await.unwrap();
    assert_eq!(before.bards, 2);

    // Applied by the shard but not yet published to the view when the shard fails.
    let in_flight = vec![created(3, "caio")];
    let outcomes = shard.send(ApplyEvents { events: in_flight.clone() }).await.unwrap();
    assert_eq!(outcomes, Some(vec![Outcome::Created]));
    assert_eq!(shard.send(FailNow).await.unwrap(), None);

    let rebuilt = shard.send(ReportShard).await.expect("the mailbox outlives the failure");
    assert_eq!(rebuilt, before, "rebuilt from the view, without the unpublished batch");
    let again = shard.send(ApplyEvents { events: in_flight }).await.unwrap();
    assert_eq!(again, Some(vec![Outcome::Created]), "the batch re-sent decides as the first time");
    let duplicate = shard.send(ApplyEvents { events: vec![created(4, "ana")] }).await.unwrap();
    assert_eq!(duplicate, Some(vec![Outcome::ApelidoTaken]), "uniqueness survived the restart");
    assert_eq!(board.restarts("shard"), 1);
}

#[derive(Message)]
#[rtype(result = "()")]
struct FailNextApply;

impl Handler<FailNextApply> for Shard {
    type Result = ();

    fn handle(&mut self, _: FailNextApply, _: &mut Self::Context) {
        self.fail_next_apply = true;
    }
}

/// The `LogReader`'s path: a shard that fails halfway through a batch is rebuilt and sent the
/// batch again; outcomes, read view and digest are those of a run without the failure.
#[actix::test]
async fn a_batch_survives_a_shard_failing_halfway_through_it() {
    use crate::actors::log_reader::{apply_batch, ApplyTargets};
    use crate::actors::search_index::SearchIndex;
    let board = Arc::new(RestartBoard::default());
    let view = Arc::new(ReadView::default());
    let policy = RestartPolicy { initial: std::time::Duration::from_millis(1), ..RestartPolicy::default() };
    let shards: Vec<Addr<Shard>> = (0..2)
        .map(|number| {
            let (source, board) =
                (ShardSource { view: Arc::clone(&view), number, count: 2 }, Arc::clone(&board));
            actix::Supervisor::start(move |_| Shard::new(source, &board, policy))
        })
        .collect();
    let (writer, _) = crate::search::create_search_index().unwrap();
    let supervision = Supervision::new("search_index", &board, policy);
    let index =
        SearchIndex::new(writer, std::time::Duration::from_millis(10), Arc::clone(&view), supervision);
    let search_index = actix::Supervisor::start(move |_| index);
    let targets = ApplyTargets {
        shards: shards.clone(),
        search_index,
        view: Arc::clone(&view),
        waiters: Arc::default(),
    };

    let first: Vec<Event> = (0..20).map(|n| created(n, &format!("bard{n}"))).collect();
    apply_batch(targets.clone(), first).await.unwrap();
    for shard in &shards {
        shard.send(FailNextApply).await.unwrap();
    }
    let mut second: Vec<Event> = (20..40).map(|n| created(n, &format!("bard{n}"))).collect();
    second.push(created(99, "bard3")); // taken in the first batch
    second.push(created(98, "bard25")); // taken earlier in this batch
    apply_batch(targets, second).await.unwrap();

    assert_eq!(board.restarts("shard"), 2, "both shards failed once");
    assert_eq!(view.len(), 40, "every bard once, the two duplicates refused");
    let mut expected = State::default();
    for n in 0..40 {
        expected.apply(&created(n, &format!("bard{n}")));
    }
    let mut digest = StateDigest::default();
    for shard in &shards {
        digest = digest.combine(shard.send(ReportShard).await.unwrap().digest);
    }
    assert_eq!(digest, expected.digest());
}
