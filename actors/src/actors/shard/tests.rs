use super::*;
use crate::event::BardCreated;
use crate::model::{BirthDate, NewBard};
use crate::read_view::ReadView;
use crate::state::{Outcome, State};
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

fn outcomes(applied: Option<Vec<Applied>>) -> Option<Vec<Outcome>> {
    applied.map(|applied| applied.into_iter().map(|a| a.outcome).collect())
}

#[actix::test]
async fn a_shard_failing_mid_batch_keeps_its_mailbox_and_rolls_the_batch_back() {
    let view = ReadView::new(1);
    let board = Arc::new(RestartBoard::default());
    let policy = RestartPolicy { initial: std::time::Duration::from_millis(1), ..RestartPolicy::default() };
    let (state, factory_board) = (view.shard_state(0), Arc::clone(&board));
    let shard = actix::Supervisor::start(move |_| Shard::new(state, 0, &factory_board, policy));
    let applied =
        shard.send(ApplyEvents { events: vec![created(1, "ana"), created(2, "bia")] }).await.unwrap();
    assert_eq!(outcomes(applied), Some(vec![Outcome::Created, Outcome::Created]));
    let before = shard.send(ReportShard).await.unwrap();

    // The first event of this batch is stored when the shard fails; the batch is rolled back.
    shard.send(FailNextApply).await.unwrap();
    let in_flight = vec![created(3, "caio"), created(4, "duda")];
    assert_eq!(shard.send(ApplyEvents { events: in_flight.clone() }).await.unwrap(), None);
    let rolled_back = shard.send(ReportShard).await.expect("the mailbox outlives the failure");
    assert_eq!(rolled_back, before, "nothing of the failed batch is left");
    assert!(view.shard_state(0).read().get(&Uuid::from_u128(3)).is_none());

    let again = shard.send(ApplyEvents { events: in_flight }).await.unwrap();
    assert_eq!(
        outcomes(again),
        Some(vec![Outcome::Created; 2]),
        "the batch re-sent decides as the first time"
    );
    let duplicate = shard.send(ApplyEvents { events: vec![created(5, "ana")] }).await.unwrap();
    assert_eq!(outcomes(duplicate), Some(vec![Outcome::ApelidoTaken]), "uniqueness survived the restart");
    assert_eq!(board.restarts("shard"), 1);
}

#[actix::test]
async fn a_failure_outside_a_batch_keeps_every_applied_bard() {
    let view = ReadView::new(1);
    let board = Arc::new(RestartBoard::default());
    let policy = RestartPolicy { initial: std::time::Duration::from_millis(1), ..RestartPolicy::default() };
    let (state, factory_board) = (view.shard_state(0), Arc::clone(&board));
    let shard = actix::Supervisor::start(move |_| Shard::new(state, 0, &factory_board, policy));
    shard.send(ApplyEvents { events: vec![created(1, "ana")] }).await.unwrap();
    assert_eq!(shard.send(FailNow).await.unwrap(), None);
    assert_eq!(shard.send(ReportShard).await.unwrap().bards, 1, "an applied batch is never undone");
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
    let view = Arc::new(ReadView::new(2));
    let policy = RestartPolicy { initial: std::time::Duration::from_millis(1), ..RestartPolicy::default() };
    let shards: Vec<Addr<Shard>> = (0..2)
        .map(|number| {
            let (state, board) = (view.shard_state(number), Arc::clone(&board));
            actix::Supervisor::start(move |_| Shard::new(state, number, &board, policy))
        })
        .collect();
    let (writer, _) = crate::search::create_search_index().unwrap();
    let supervision = Supervision::new("search_index", &board, policy);
    let index =
        SearchIndex::new(writer, std::time::Duration::from_millis(10), Arc::clone(&view), 0, supervision);
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
