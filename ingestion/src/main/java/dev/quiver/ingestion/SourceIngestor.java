package dev.quiver.ingestion;

import dev.quiver.proto.v1.Source;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.RowSink;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ingests one source on a thread of its own: polls the topic, decodes and processes each record in
 * partition order, sends bad records to the dead-letter topic, and writes each poll's rows with the
 * positions they reach to every sink.
 *
 * <p>Each sink records, per view version and partition, the next offset to apply. On assignment the
 * consumer seeks to the smallest of those, and a record is applied only to the (sink, view) pairs
 * that have not applied it yet. So a restart — clean or not — neither loses nor repeats a record,
 * and a view added later replays the topic from the start without disturbing the others.
 *
 * <p>Threading: the consumer is confined to the ingestor's thread; {@link #close()} may be called
 * from any thread.
 */
final class SourceIngestor implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SourceIngestor.class);

  private final Source source;
  private final RecordProcessor processor;
  private final List<RowSink> sinks;
  private final Producer<byte[], byte[]> deadLetters;
  private final IngestionConfig config;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Thread thread;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final MeterRegistry meters;
  private final Counter records;
  private final Counter writeFailures;
  private volatile boolean running = true;

  /** Per sink: view -> partition -> next offset to apply. Touched by the ingestor thread only. */
  private final List<Map<ViewId, Map<SourcePartition, Long>>> positions = new ArrayList<>();

  private final Map<SourcePartition, Long> applied = new ConcurrentHashMap<>();

  SourceIngestor(
      Source source,
      RecordProcessor processor,
      List<RowSink> sinks,
      Producer<byte[], byte[]> deadLetters,
      IngestionConfig config,
      MeterRegistry meters) {
    this.source = source;
    this.processor = processor;
    this.sinks = List.copyOf(sinks);
    this.deadLetters = deadLetters;
    this.config = config;
    this.meters = meters;
    this.records = meters.counter("quiver.ingest.records", "source", source.getName());
    this.writeFailures = meters.counter("quiver.ingest.write_failures", "source", source.getName());
    for (int i = 0; i < sinks.size(); i++) {
      positions.add(new HashMap<>());
    }
    Map<String, Object> props = new HashMap<>();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    props.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupPrefix() + "." + source.getName());
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, config.maxPollRecords());
    props.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, 10_000);
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "quiver-" + source.getName());
    props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
    if (!config.memberId().isEmpty()) {
      props.put(
          ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, config.memberId() + "." + source.getName());
    }
    props.putAll(config.clientOverrides());
    this.consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    this.thread = new Thread(this::run, "quiver-ingest-" + source.getName());
    this.thread.setDaemon(true);
  }

  synchronized void start() {
    thread.start();
  }

  /** The next offset applied by every sink and view, per partition seen so far. */
  Map<SourcePartition, Long> applied() {
    return Map.copyOf(applied);
  }

  private void run() {
    String topic = source.getKafka().getTopic();
    try {
      consumer.subscribe(List.of(topic), new Rebalance());
      while (running) {
        // Without partitions there is nothing to rewind: an assignment reads the positions anyway.
        if (!consumer.assignment().isEmpty() && rewindNeeded()) {
          LOG.warn(
              "source {}: a sink dropped rows after a failure; reading again from the recorded"
                  + " positions",
              source.getName());
          seekToRecordedPositions(consumer.assignment());
        }
        ConsumerRecords<byte[], byte[]> batch = consumer.poll(config.pollTimeout());
        if (batch.isEmpty()) {
          continue;
        }
        try {
          apply(batch);
        } catch (IOException | RuntimeException e) {
          writeFailures.increment();
          LOG.error(
              "source {}: applying {} records failed; retrying from the recorded positions in {}",
              source.getName(),
              batch.count(),
              config.retryBackoff(),
              e);
          pause();
          seekToRecordedPositions(consumer.assignment());
        }
      }
    } catch (WakeupException e) {
      // close() was called
    } catch (RuntimeException e) {
      LOG.error("source {}: ingestion stopped", source.getName(), e);
    } finally {
      try {
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
      } catch (RuntimeException e) {
        LOG.warn("source {}: closing the consumer failed", source.getName(), e);
      }
      stopped.countDown();
    }
  }

  private void apply(ConsumerRecords<byte[], byte[]> batch) throws IOException {
    List<List<ViewRow>> rowsBySink = new ArrayList<>();
    for (int i = 0; i < sinks.size(); i++) {
      rowsBySink.add(new ArrayList<>());
    }
    List<Map<ViewId, Map<SourcePartition, Long>>> advanced = new ArrayList<>();
    for (int i = 0; i < sinks.size(); i++) {
      advanced.add(new HashMap<>());
    }
    boolean sentDeadLetters = false;
    Map<TopicPartition, OffsetAndMetadata> commits = new HashMap<>();
    for (TopicPartition tp : batch.partitions()) {
      SourcePartition sp = new SourcePartition(tp.topic(), tp.partition());
      List<ConsumerRecord<byte[], byte[]>> records = batch.records(tp);
      for (ConsumerRecord<byte[], byte[]> r : records) {
        this.records.increment();
        long offset = r.offset();
        if (!anyNeeds(sp, offset)) {
          continue;
        }
        DecodedRecord decoded;
        try {
          decoded = processor.decoder().decode(r.value());
        } catch (BadRecordException e) {
          deadLetter(r, e.reason(), e.getMessage(), null);
          sentDeadLetters = true;
          continue;
        }
        RecordProcessor.Result result =
            processor.process(decoded, tp.partition(), offset, view -> needs(view, sp, offset));
        for (RecordProcessor.Failure f : result.failures()) {
          deadLetter(r, DeadLetterReason.EXPRESSION_FAILED, f.message(), f.view());
          sentDeadLetters = true;
        }
        for (ViewRow row : result.rows()) {
          for (int s = 0; s < sinks.size(); s++) {
            if (position(s, row.view(), sp) <= offset) {
              rowsBySink.get(s).add(row);
            }
          }
        }
      }
      long next = records.get(records.size() - 1).offset() + 1;
      for (ViewId view : processor.viewIds()) {
        for (int s = 0; s < sinks.size(); s++) {
          if (position(s, view, sp) < next) {
            advanced.get(s).computeIfAbsent(view, v -> new HashMap<>()).put(sp, next);
          }
        }
      }
      commits.put(tp, new OffsetAndMetadata(next));
    }
    if (sentDeadLetters) {
      deadLetters.flush();
    }
    for (int s = 0; s < sinks.size(); s++) {
      if (advanced.get(s).isEmpty()) {
        continue;
      }
      sinks.get(s).write(new RowBatch(rowsBySink.get(s), advanced.get(s)));
      int sink = s;
      advanced
          .get(s)
          .forEach(
              (view, parts) ->
                  positions.get(sink).computeIfAbsent(view, v -> new HashMap<>()).putAll(parts));
      meters
          .counter("quiver.ingest.rows", "source", source.getName(), "sink", sinks.get(s).name())
          .increment(rowsBySink.get(s).size());
    }
    commits.forEach(
        (tp, o) -> applied.put(new SourcePartition(tp.topic(), tp.partition()), o.offset()));
    consumer.commitAsync(commits, null);
  }

  private boolean rewindNeeded() {
    for (RowSink sink : sinks) {
      for (ViewId view : processor.viewIds()) {
        if (sink.rewindNeeded(view)) {
          return true;
        }
      }
    }
    return false;
  }

  private boolean anyNeeds(SourcePartition sp, long offset) {
    for (ViewId view : processor.viewIds()) {
      if (needs(view, sp, offset)) {
        return true;
      }
    }
    return false;
  }

  private boolean needs(ViewId view, SourcePartition sp, long offset) {
    for (int s = 0; s < sinks.size(); s++) {
      if (position(s, view, sp) <= offset) {
        return true;
      }
    }
    return false;
  }

  private long position(int sink, ViewId view, SourcePartition sp) {
    Long p = positions.get(sink).getOrDefault(view, Map.of()).get(sp);
    if (p == null) {
      try {
        p = sinks.get(sink).position(view, sp);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      positions.get(sink).computeIfAbsent(view, v -> new HashMap<>()).put(sp, p);
    }
    return p;
  }

  private void deadLetter(
      ConsumerRecord<byte[], byte[]> r, DeadLetterReason reason, String message, ViewId view) {
    RecordHeaders headers = new RecordHeaders();
    headers.add(DeadLetters.REASON, utf8(reason.code()));
    headers.add(DeadLetters.ERROR, utf8(message));
    headers.add(DeadLetters.SOURCE, utf8(source.getName()));
    headers.add(DeadLetters.TOPIC, utf8(r.topic()));
    headers.add(DeadLetters.PARTITION, utf8(String.valueOf(r.partition())));
    headers.add(DeadLetters.OFFSET, utf8(String.valueOf(r.offset())));
    if (view != null) {
      headers.add(DeadLetters.VIEW, utf8(view.toString()));
    }
    r.headers().forEach(h -> headers.add(h.key(), h.value()));
    deadLetters.send(
        new ProducerRecord<>(
            source.getKafka().getDeadLetterTopic(), null, r.key(), r.value(), headers),
        (metadata, e) -> {
          if (e != null) {
            LOG.error(
                "source {}: dead letter for offset {} not sent", source.getName(), r.offset(), e);
          }
        });
    meters
        .counter("quiver.ingest.dead_letters", "source", source.getName(), "reason", reason.code())
        .increment();
    LOG.debug(
        "source {}: dead letter {}-{}@{}: {}",
        source.getName(),
        r.topic(),
        r.partition(),
        r.offset(),
        message);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private void seekToRecordedPositions(Collection<TopicPartition> partitions) {
    for (Map<ViewId, Map<SourcePartition, Long>> p : positions) {
      p.clear();
    }
    for (TopicPartition tp : partitions) {
      SourcePartition sp = new SourcePartition(tp.topic(), tp.partition());
      long min = Long.MAX_VALUE;
      for (ViewId view : processor.viewIds()) {
        for (int s = 0; s < sinks.size(); s++) {
          min = Math.min(min, position(s, view, sp));
        }
      }
      consumer.seek(tp, min == Long.MAX_VALUE ? 0 : min);
    }
  }

  private void pause() {
    try {
      Thread.sleep(config.retryBackoff().toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      seekToRecordedPositions(partitions);
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      // Every poll is written before the next; nothing is pending.
    }
  }

  /** Stops the thread and waits for it to close the consumer. Idempotent. */
  @Override
  public synchronized void close() {
    running = false;
    if (!thread.isAlive() && stopped.getCount() > 0) {
      // Never started: nothing runs the loop that would close the consumer.
      if (thread.getState() == Thread.State.NEW) {
        consumer.close(CloseOptions.timeout(Duration.ZERO));
        stopped.countDown();
      }
      return;
    }
    consumer.wakeup();
    try {
      if (thread.isAlive() && !stopped.await(30, TimeUnit.SECONDS)) {
        LOG.warn("source {}: ingestor did not stop in 30 s", source.getName());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
