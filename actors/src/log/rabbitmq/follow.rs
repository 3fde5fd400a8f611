//! The reader side: follow the stream from an offset, forever, reconnecting after failures.

use super::*;

type Chunks = mpsc::Sender<Result<Vec<LogEntry>, LogError>>;

/// Feeds `chunks` with every record from `first` on until the receiver is dropped.
pub(super) async fn follow_stream(address: StreamAddress, first: Offset, chunks: Chunks) {
    let mut next = first;
    let mut backoff = READ_BACKOFF_FIRST;
    let preferred = PreferredNode::default();
    loop {
        let error = match consume_from(&address, &preferred, &mut next, &chunks, &mut backoff).await {
            Ok(()) => return, // the reader is gone
            Err(error) => error,
        };
        tracing::warn!(%error, next, retry_in = ?backoff, "log reader lost the stream; reconnecting");
        if chunks.send(Err(error)).await.is_err() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(READ_BACKOFF_CAP);
    }
}

/// One connection's worth of reading. `Ok` means the receiver is gone; `Err` means reconnect,
/// to the next node: the offsets are the same on every node (one replicated stream).
async fn consume_from(
    address: &StreamAddress,
    preferred: &PreferredNode,
    next: &mut Offset,
    chunks: &Chunks,
    backoff: &mut Duration,
) -> Result<(), LogError> {
    let (node, (_connection, channel)) = open_channel(address, preferred, "bardo-reader").await?;
    let read = read_deliveries(address, &channel, next, chunks, backoff).await;
    preferred.after_session(node, &address.urls, read)
}

async fn read_deliveries(
    address: &StreamAddress,
    channel: &Channel,
    next: &mut Offset,
    chunks: &Chunks,
    backoff: &mut Duration,
) -> Result<(), LogError> {
    let from = i64::try_from(*next).map_err(|e| unavailable("offset", e))?;
    let mut consumer = subscribe(channel, &address.stream, AMQPValue::LongLongInt(from)).await?;
    *backoff = READ_BACKOFF_FIRST;
    tracing::info!(stream = %address.stream, from = *next, "following the log");
    loop {
        let deliveries = tokio::select! {
            deliveries = next_deliveries(&mut consumer) => deliveries?,
            () = chunks.closed() => return Ok(()),
        };
        let last_tag = deliveries.last().map(|(tag, _)| *tag);
        let entries: Vec<LogEntry> =
            deliveries.into_iter().map(|(_, entry)| entry).filter(|entry| entry.offset >= *next).collect();
        if let Some(last) = entries.last() {
            *next = last.offset + 1;
            if chunks.send(Ok(entries)).await.is_err() {
                return Ok(());
            }
        }
        if let Some(tag) = last_tag {
            let ack = BasicAckOptions { multiple: true };
            channel.basic_ack(tag, ack).await.map_err(|e| unavailable("ack", e))?;
        }
    }
}

/// The offset after the last record: attach at `last` (the last chunk) and read what comes.
/// AMQP has no call for a stream's end (the declare-ok message count lags behind).
pub(super) async fn probe_end_offset(
    address: &StreamAddress,
    preferred: &PreferredNode,
) -> Result<Offset, LogError> {
    let (connection, _channel, mut consumer) =
        open_consumer(address, preferred, "bardo-end-probe", AMQPValue::LongString("last".into())).await?;
    let mut end = 0;
    // The last chunk arrives at once; a busy stream keeps growing, so the read is bounded in
    // time (the answer is the end as of the probe) and in records.
    let deadline = tokio::time::Instant::now() + END_PROBE_IDLE;
    let mut idle = END_PROBE_IDLE;
    for _ in 0..MAX_CHUNK_RECORDS * 4 {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let wait = if end == 0 { idle } else { idle.min(left) };
        let Ok(Some(delivery)) = tokio::time::timeout(wait, consumer.next()).await else {
            break;
        };
        let (_, entry) = entry_of(delivery.map_err(|e| unavailable("delivery", e))?)?;
        end = end.max(entry.offset + 1);
        idle = Duration::from_millis(30);
    }
    let _ = connection.close(200, "probe done".into()).await;
    Ok(end)
}

/// The offset of the first record the broker still holds (retention removes the head): attach
/// at `first` and read one delivery. Retention never removes the segment being written, so a
/// stream with nothing to deliver has never held a record: its first offset is 0.
pub(super) async fn probe_first_offset(
    address: &StreamAddress,
    preferred: &PreferredNode,
) -> Result<Offset, LogError> {
    for _ in 0..FIRST_PROBE_ATTEMPTS {
        if let Some(first) = first_delivery(address, preferred).await? {
            return Ok(first);
        }
        // Nothing came: empty, or a record landed just now (read it on the next attempt).
        if probe_end_offset(address, preferred).await? == 0 {
            return Ok(0);
        }
    }
    Err(LogError::Unavailable("the stream holds records but none came from its first offset".into()))
}

async fn first_delivery(
    address: &StreamAddress,
    preferred: &PreferredNode,
) -> Result<Option<Offset>, LogError> {
    let (connection, _channel, mut consumer) =
        open_consumer(address, preferred, "bardo-first-probe", AMQPValue::LongString("first".into())).await?;
    let first = match tokio::time::timeout(FIRST_PROBE_WAIT, consumer.next()).await {
        Ok(Some(delivery)) => Some(entry_of(delivery.map_err(|e| unavailable("delivery", e))?)?.1.offset),
        _ => None,
    };
    let _ = connection.close(200, "probe done".into()).await;
    Ok(first)
}

/// A consumer attached at `from` on the first node where both the connection and the
/// subscription work. A node that accepts connections but cannot serve its copy of the stream
/// (a member still recovering after a crash answers the consume with an error) is skipped, and
/// the next probe starts past it: otherwise every probe would stay on that node.
async fn open_consumer(
    address: &StreamAddress,
    preferred: &PreferredNode,
    name: &str,
    from: AMQPValue,
) -> Result<(Connection, Channel, Consumer), LogError> {
    let (_, opened) = in_turn(&address.urls, preferred, name, |url| {
        let from = from.clone();
        async move {
            let (connection, channel) = open_channel_at(url, address, name).await?;
            match subscribe(&channel, &address.stream, from).await {
                Ok(consumer) => Ok((connection, channel, consumer)),
                Err(error) => {
                    close_in_background(connection);
                    Err(error)
                }
            }
        }
    })
    .await?;
    Ok(opened)
}

/// Attaches a consumer at an explicit offset; streams require QoS and manual acks.
async fn subscribe(channel: &Channel, stream: &str, from: AMQPValue) -> Result<Consumer, LogError> {
    let qos = BasicQosOptions { global: false };
    channel.basic_qos(CONSUMER_PREFETCH, qos).await.map_err(|e| unavailable("qos", e))?;
    let mut arguments = FieldTable::default();
    arguments.insert("x-stream-offset".into(), from);
    let options = BasicConsumeOptions { no_ack: false, ..BasicConsumeOptions::default() };
    let tag = format!("bardo-reader-{}", uuid::Uuid::new_v4());
    channel
        .basic_consume(stream.into(), tag.as_str().into(), options, arguments)
        .await
        .map_err(|e| unavailable("consume", e))
}

/// Waits for one delivery, then takes whatever else is already there (up to a chunk).
async fn next_deliveries(consumer: &mut Consumer) -> Result<Vec<(u64, LogEntry)>, LogError> {
    let mut deliveries = Vec::new();
    let first = consumer.next().await;
    let mut item = first;
    loop {
        match item {
            None => return Err(LogError::Unavailable("the broker closed the consumer".into())),
            Some(Err(error)) => return Err(unavailable("delivery", error)),
            Some(Ok(delivery)) => deliveries.push(entry_of(delivery)?),
        }
        if deliveries.len() >= MAX_CHUNK_RECORDS {
            return Ok(deliveries);
        }
        match consumer.next().now_or_never() {
            Some(ready) => item = ready,
            None => return Ok(deliveries),
        }
    }
}

fn entry_of(delivery: lapin::message::Delivery) -> Result<(u64, LogEntry), LogError> {
    let offset = delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|headers| headers.inner().get("x-stream-offset").and_then(offset_value))
        .ok_or_else(|| LogError::Unavailable("a delivery without x-stream-offset".into()))?;
    let entry = LogEntry { offset, payload: Bytes::from(delivery.data) };
    Ok((delivery.delivery_tag, entry))
}

fn offset_value(value: &AMQPValue) -> Option<Offset> {
    match value {
        AMQPValue::LongLongInt(number) => Offset::try_from(*number).ok(),
        AMQPValue::LongInt(number) => Offset::try_from(*number).ok(),
        AMQPValue::LongUInt(number) => Some(Offset::from(*number)),
        _ => None,
    }
}
