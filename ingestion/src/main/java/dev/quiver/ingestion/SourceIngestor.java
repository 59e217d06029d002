package dev.quiver.ingestion;

import dev.quiver.proto.v1.Source;
import dev.quiver.registry.rows.RowBatch;
import dev.quiver.registry.rows.RowSink;
import dev.quiver.registry.rows.SourceArchive;
import dev.quiver.registry.rows.SourcePartition;
import dev.quiver.registry.rows.ViewId;
import dev.quiver.registry.rows.ViewRow;
import dev.quiver.registry.semantics.FutureEvents;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.util.RepeatingFailureLog;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
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
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
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
 * <p>Nothing is skipped: a batch is written with its positions only once its dead letters are in
 * the dead-letter topic; if a write or a dead letter fails, nothing of the batch counts and it is
 * read again from the recorded positions after {@link IngestionConfig#retryBackoff()}. A record
 * whose processing throws unexpectedly is a dead letter ({@code internal_error}), so no record can
 * hold the source up. Repeating failures are logged once with a stack trace, then as a line per
 * {@link IngestionConfig.Health#failureLogInterval()}. Between polls, at most every {@link
 * IngestionConfig.Health#checkInterval()}, the thread measures the lag behind the log end, which is
 * also how it learns the broker cannot be reached; {@link #health()} reports both.
 *
 * <p>Threading: the consumer is confined to the ingestor's thread; {@link #close()} may be called
 * from any thread.
 */
final class SourceIngestor implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SourceIngestor.class);

  private final Source source;
  private final RecordProcessor processor;
  private final List<RowSink> sinks;
  private final DeadLetterSender deadLetters;
  private final IngestionConfig config;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final KafkaClientMetrics consumerMetrics;
  private final Thread thread;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final MeterRegistry meters;
  private final Counter records;
  private final Counter writeFailures;
  private final List<Counter> rowsBySinkCounter = new ArrayList<>();
  // Created on first use of each reason; touched by the ingestor thread only.
  private final java.util.EnumMap<DeadLetterReason, Counter> deadLetterCounters =
      new java.util.EnumMap<>(DeadLetterReason.class);
  private final RepeatingFailureLog applyLog;
  private final RepeatingFailureLog reachLog;
  private final RepeatingFailureLog internalLog;
  private volatile boolean running = true;

  // Health, written by the ingest thread, read by health() on any thread.
  private final Instant started = Instant.now();
  private volatile Instant applyFailingSince;
  private volatile String applyFailure = "";
  private volatile Instant applyRecovered;
  private volatile long lastReachedNanos = System.nanoTime();
  private volatile Instant lastReached = Instant.now();
  private volatile Instant reachRecovered;
  private volatile String reachFailure = "";
  private volatile String stoppedReason;
  private volatile Map<SourcePartition, Long> lag = Map.of();
  private volatile Map<ViewId, Long> viewLag = Map.of();
  private volatile Instant measuredAt;
  private long nextCheckNanos = System.nanoTime();

  /** Per sink: view -> partition -> next offset to apply. Touched by the ingestor thread only. */
  private final List<Map<ViewId, Map<SourcePartition, Long>>> positions = new ArrayList<>();

  private final Map<SourcePartition, Long> applied = new ConcurrentHashMap<>();

  /** Reads the source's archive back; null when views replay from Kafka only. */
  private final SourceArchive.Reader archive;

  /** The source's archive view, or null when it is not archived. */
  private final ViewId archiveId;

  /**
   * Per partition, the archive's committed position when last read: a (sink, view) below it is
   * filled from the archive, not from Kafka. Touched by the ingestor thread only.
   */
  private Map<SourcePartition, Long> archived = Map.of();

  /** Open reads of the archive by partition, positioned at their next offset. */
  private final Map<SourcePartition, ArchiveCursor> cursors = new HashMap<>();

  /** An open read of one partition's archive up to {@code to}, at offset {@code next}. */
  private static final class ArchiveCursor {
    final SourceArchive.Records records;
    final long to;
    long next;

    ArchiveCursor(SourceArchive.Records records, long from, long to) {
      this.records = records;
      this.next = from;
      this.to = to;
    }
  }

  SourceIngestor(
      Source source,
      RecordProcessor processor,
      List<RowSink> sinks,
      int deadLetterMaxBytes,
      IngestionConfig config,
      MeterRegistry meters,
      SourceArchive.Reader archive) {
    this.source = source;
    this.processor = processor;
    this.archive = archive;
    this.archiveId =
        processor.viewIds().contains(SourceArchive.id(source.getName()))
            ? SourceArchive.id(source.getName())
            : null;
    this.sinks = List.copyOf(sinks);
    this.deadLetters =
        new DeadLetterSender(
            config.bootstrapServers(),
            config.clientOverrides(),
            source.getName(),
            source.getKafka().getDeadLetterTopic(),
            deadLetterMaxBytes);
    this.config = config;
    this.meters = meters;
    this.records = meters.counter("quiver.ingest.records", "source", source.getName());
    this.writeFailures = meters.counter("quiver.ingest.write_failures", "source", source.getName());
    Duration every = config.health().failureLogInterval();
    this.applyLog =
        new RepeatingFailureLog(LOG, "source " + source.getName() + ": applying records", every);
    this.reachLog =
        new RepeatingFailureLog(LOG, "source " + source.getName() + ": reaching Kafka", every);
    this.internalLog =
        new RepeatingFailureLog(
            LOG, "source " + source.getName() + ": processing a record failed unexpectedly", every);
    for (int i = 0; i < sinks.size(); i++) {
      positions.add(new HashMap<>());
      rowsBySinkCounter.add(
          meters.counter(
              "quiver.ingest.rows", "source", source.getName(), "sink", sinks.get(i).name()));
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
    // The client's own metrics (fetch rates, lag as the consumer sees it), read when scraped.
    this.consumerMetrics = new KafkaClientMetrics(consumer);
    this.consumerMetrics.bindTo(meters);
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

  /** How ingestion of this source is doing; see {@link SourceHealth}. Any thread. */
  SourceHealth health() {
    Duration bound = config.health().unreachableAfter();
    String stopped = stoppedReason;
    if (stopped != null) {
      return new SourceHealth(true, stopped, lastReached, lag, measuredAt);
    }
    Instant applyingSince = applyFailingSince;
    if (applyingSince != null) {
      return new SourceHealth(true, applyFailure, applyingSince, lag, measuredAt);
    }
    long silent = System.nanoTime() - lastReachedNanos;
    if (silent > bound.toNanos()) {
      String why = reachFailure.isEmpty() ? "" : ": " + reachFailure;
      return new SourceHealth(
          true,
          "no answer from Kafka for "
              + Duration.ofNanos(silent).toSeconds()
              + " s (the bound is "
              + bound.toSeconds()
              + " s)"
              + why,
          lastReached,
          lag,
          measuredAt);
    }
    Instant since = started;
    for (Instant t : new Instant[] {applyRecovered, reachRecovered}) {
      if (t != null && t.isAfter(since)) {
        since = t;
      }
    }
    return new SourceHealth(false, "", since, lag, measuredAt);
  }

  /**
   * Measures the lag of the assigned partitions from their log-end offsets, and so whether the
   * broker answers; without an assignment, only whether it answers.
   */
  private void checkHealth() {
    long now = System.nanoTime();
    if (now < nextCheckNanos) {
      return;
    }
    Duration interval = config.health().checkInterval();
    nextCheckNanos = now + interval.toNanos();
    Duration timeout =
        min(min(interval, config.health().unreachableAfter()), Duration.ofSeconds(5));
    String topic = source.getKafka().getTopic();
    try {
      java.util.Set<TopicPartition> assigned = consumer.assignment();
      Collection<TopicPartition> ask = assigned;
      if (assigned.isEmpty()) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
        ask = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
      }
      Map<TopicPartition, Long> ends = consumer.endOffsets(ask, timeout);
      Map<SourcePartition, Long> measured = new HashMap<>();
      for (TopicPartition tp : assigned) {
        Long end = ends.get(tp);
        Long next = applied.get(new SourcePartition(tp.topic(), tp.partition()));
        if (end != null) {
          measured.put(
              new SourcePartition(tp.topic(), tp.partition()),
              Math.max(0, end - (next == null ? 0 : next)));
        }
      }
      lag = Map.copyOf(measured);
      if (!assigned.isEmpty()) {
        viewLag = measureViewLag(ends);
      }
      measuredAt = Instant.now();
      if (System.nanoTime() - lastReachedNanos > config.health().unreachableAfter().toNanos()) {
        reachRecovered = measuredAt;
      }
      lastReachedNanos = System.nanoTime();
      lastReached = measuredAt;
      reachFailure = "";
      reachLog.success();
    } catch (WakeupException e) {
      throw e;
    } catch (RuntimeException e) {
      reachFailure = e.toString();
      reachLog.failure("the log-end offsets of " + topic + " are not available: " + e, e);
    }
  }

  /**
   * How far each feature view version is behind the log end: the most records it has still to apply
   * on any assigned partition, on any sink that stores it.
   */
  private Map<ViewId, Long> measureViewLag(Map<TopicPartition, Long> ends) {
    Map<ViewId, Long> out = new HashMap<>();
    for (ViewId view : processor.viewIds()) {
      if (view.equals(archiveId)) {
        continue;
      }
      long behind = 0;
      for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
        SourcePartition sp = new SourcePartition(e.getKey().topic(), e.getKey().partition());
        for (int s = 0; s < sinks.size(); s++) {
          long p = position(s, view, sp);
          if (p != Long.MAX_VALUE) {
            behind = Math.max(behind, e.getValue() - p);
          }
        }
      }
      out.put(view, Math.max(0, behind));
    }
    return Map.copyOf(out);
  }

  /**
   * Each feature view version's lag behind the log end in records ({@link #measureViewLag}), as
   * last measured; empty before the first measurement of an assigned partition.
   */
  Map<ViewId, Long> viewLag() {
    return viewLag;
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  private void run() {
    String topic = source.getKafka().getTopic();
    try {
      consumer.subscribe(List.of(topic), new Rebalance());
      while (running) {
        checkHealth();
        // Without partitions there is nothing to rewind: an assignment reads the positions anyway.
        if (!consumer.assignment().isEmpty() && rewindNeeded()) {
          LOG.warn(
              "source {}: a sink dropped rows after a failure; reading again from the recorded"
                  + " positions",
              source.getName());
          seekToRecordedPositions(consumer.assignment());
        }
        boolean filled;
        try {
          filled = fillFromArchive();
        } catch (IOException | RuntimeException e) {
          if (e instanceof WakeupException w) {
            throw w;
          }
          failed("filling views from the source archive", e);
          continue;
        }
        ConsumerRecords<byte[], byte[]> batch =
            consumer.poll(filled ? Duration.ZERO : config.pollTimeout());
        if (batch.isEmpty()) {
          continue;
        }
        try {
          apply(batch);
          if (applyFailingSince != null) {
            applyRecovered = Instant.now();
            applyFailingSince = null;
            applyFailure = "";
          }
          applyLog.success();
        } catch (IOException | RuntimeException e) {
          if (e instanceof WakeupException w) {
            throw w;
          }
          failed("applying " + batch.count() + " records", e);
        }
      }
    } catch (WakeupException e) {
      // close() was called
    } catch (RuntimeException e) {
      stoppedReason = "ingestion stopped: " + e;
      LOG.error("source {}: ingestion stopped", source.getName(), e);
    } finally {
      closeCursors();
      try {
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
      } catch (RuntimeException e) {
        LOG.warn("source {}: closing the consumer failed", source.getName(), e);
      }
      consumerMetrics.close();
      deadLetters.close();
      stopped.countDown();
    }
  }

  /**
   * After a failed write: counts it, logs it, waits, and reads again from the recorded positions.
   */
  private void failed(String what, Exception e) {
    writeFailures.increment();
    applyFailure = e.getMessage() == null ? e.toString() : e.getMessage();
    if (applyFailingSince == null) {
      applyFailingSince = Instant.now();
    }
    applyLog.failure(
        what
            + " failed; retrying from the recorded positions every "
            + config.retryBackoff().toMillis()
            + " ms: "
            + applyFailure,
        e);
    pause();
    closeCursors();
    seekToRecordedPositions(consumer.assignment());
  }

  /** Archived records read per partition between two polls while views are filled. */
  static final int ARCHIVE_CHUNK = 5_000;

  /** The archive's committed positions, read again (they advance as the offline store commits). */
  private void refreshArchived() throws IOException {
    if (archive != null && archiveId != null) {
      archived = archive.committed(source.getName());
    }
  }

  /**
   * Fills the (sink, view) pairs below the archive's committed position from the archive: one chunk
   * per partition, through the same processing and into the same sinks as records from Kafka, with
   * positions advancing as they would. A pair that reaches the archive's position reads Kafka from
   * there on (the consumer seeks back to it). Returns whether anything was filled.
   */
  private boolean fillFromArchive() throws IOException {
    if (archive == null || archiveId == null) {
      return false;
    }
    refreshArchived();
    boolean filled = false;
    java.util.Set<TopicPartition> assigned = consumer.assignment();
    for (Map.Entry<SourcePartition, Long> e : archived.entrySet()) {
      SourcePartition sp = e.getKey();
      TopicPartition tp = new TopicPartition(sp.topic(), sp.partition());
      if (sp.topic().equals(source.getKafka().getTopic()) && !assigned.contains(tp)) {
        continue;
      }
      long to = e.getValue();
      long from = Long.MAX_VALUE;
      for (ViewId view : processor.viewIds()) {
        if (view.equals(archiveId)) {
          continue;
        }
        for (int s = 0; s < sinks.size(); s++) {
          long p = position(s, view, sp);
          if (p < to) {
            from = Math.min(from, p);
          }
        }
      }
      if (from == Long.MAX_VALUE) {
        closeCursor(sp);
        continue;
      }
      filled = true;
      if (fillChunk(sp, from, to) && assigned.contains(tp)) {
        seekToRecordedPositions(List.of(tp));
      }
    }
    return filled;
  }

  /** Fills one chunk of a partition's archive; returns whether the pairs reached {@code to}. */
  private boolean fillChunk(SourcePartition sp, long from, long to) throws IOException {
    ArchiveCursor c = cursors.get(sp);
    if (c == null || c.next != from || c.to != to) {
      closeCursor(sp);
      c = new ArchiveCursor(archive.read(source, sp, from, to), from, to);
      cursors.put(sp, c);
    }
    List<List<ViewRow>> rowsBySink = new ArrayList<>();
    for (int i = 0; i < sinks.size(); i++) {
      rowsBySink.add(new ArrayList<>());
    }
    long clockMicros = Micros.of(config.future().clock().instant());
    long next = from;
    boolean exhausted = false;
    for (int n = 0; n < ARCHIVE_CHUNK; n++) {
      if (!c.records.hasNext()) {
        exhausted = true;
        break;
      }
      SourceArchive.Record r = c.records.next();
      long offset = r.order().offset();
      next = offset + 1;
      DecodedRecord decoded =
          new DecodedRecord(r.fields(), r.order().eventTimeMicros(), r.order().createdTimeMicros());
      RecordProcessor.Result result;
      try {
        result =
            processor.process(
                decoded, sp.partition(), offset, view -> fromArchive(view, sp, offset, to));
      } catch (RuntimeException | StackOverflowError failure) {
        internalLog.failure(
            "archived offset " + offset + " goes to the dead-letter topic: " + failure, failure);
        deadLetter(
            archived(sp, offset), DeadLetterReason.INTERNAL_ERROR, "processing failed", null);
        continue;
      }
      for (RecordProcessor.Failure f : result.failures()) {
        deadLetter(
            archived(sp, offset), f.reason(), f.message() + " (from the source archive)", f.view());
      }
      for (ViewRow row : result.rows()) {
        for (int s = 0; s < sinks.size(); s++) {
          if (takesFromArchive(s, row.view(), sp, offset, to)) {
            rowsBySink.get(s).add(row);
          }
        }
      }
    }
    if (!exhausted && !c.records.hasNext()) {
      exhausted = true;
    }
    // Offsets the archive skips (dead letters) are passed over with it, up to its position.
    long reached = exhausted ? to : next;
    deadLetters.flush();
    for (int s = 0; s < sinks.size(); s++) {
      Map<ViewId, Map<SourcePartition, Long>> advanced = new HashMap<>();
      for (ViewId view : processor.viewIds()) {
        if (!view.equals(archiveId) && position(s, view, sp) < reached) {
          advanced.put(view, Map.of(sp, reached));
        }
      }
      write(s, rowsBySink.get(s), advanced, clockMicros);
    }
    c.next = reached;
    if (exhausted) {
      closeCursor(sp);
    }
    return exhausted;
  }

  /** Whether {@code view} takes the archived record at {@code offset} (below {@code to}). */
  private boolean fromArchive(ViewId view, SourcePartition sp, long offset, long to) {
    for (int s = 0; s < sinks.size(); s++) {
      if (takesFromArchive(s, view, sp, offset, to)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether {@code view} on {@code sink} takes the archived record at {@code offset}: it has not
   * applied it, and it is below the archive's position {@code to} (the archive is not one of them).
   */
  private boolean takesFromArchive(
      int sink, ViewId view, SourcePartition sp, long offset, long to) {
    if (view.equals(archiveId)) {
      return false;
    }
    long p = position(sink, view, sp);
    return p <= offset && p < to;
  }

  /** Where a dead letter of an archived record points: its partition and offset, no bytes. */
  private static ConsumerRecord<byte[], byte[]> archived(SourcePartition sp, long offset) {
    return new ConsumerRecord<>(sp.topic(), sp.partition(), offset, null, new byte[0]);
  }

  private void closeCursor(SourcePartition sp) {
    ArchiveCursor c = cursors.remove(sp);
    if (c != null) {
      try {
        c.records.close();
      } catch (IOException e) {
        LOG.debug("source {}: closing an archive read failed", source.getName(), e);
      }
    }
  }

  private void closeCursors() {
    for (SourcePartition sp : List.copyOf(cursors.keySet())) {
      closeCursor(sp);
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
    Map<TopicPartition, OffsetAndMetadata> commits = new HashMap<>();
    long clockMicros = Micros.of(config.future().clock().instant());
    for (TopicPartition tp : batch.partitions()) {
      SourcePartition sp = new SourcePartition(tp.topic(), tp.partition());
      List<ConsumerRecord<byte[], byte[]>> records = batch.records(tp);
      for (ConsumerRecord<byte[], byte[]> r : records) {
        this.records.increment();
        long offset = r.offset();
        if (!anyNeeds(sp, offset)) {
          continue;
        }
        RecordProcessor.Result result;
        try {
          DecodedRecord decoded = processor.records().read(r.value());
          checkNotTooFarAhead(decoded, clockMicros);
          result =
              processor.process(decoded, tp.partition(), offset, view -> needs(view, sp, offset));
        } catch (BadRecordException e) {
          deadLetter(r, e.reason(), e.getMessage(), null);
          continue;
        } catch (java.io.UncheckedIOException e) {
          // A sink's position could not be read: a write failure, retried.
          throw e;
        } catch (RuntimeException | StackOverflowError e) {
          internalLog.failure(
              "offset " + offset + " goes to the dead-letter topic (internal_error): " + e, e);
          deadLetter(r, DeadLetterReason.INTERNAL_ERROR, "processing failed: " + e, null);
          continue;
        }
        for (RecordProcessor.Failure f : result.failures()) {
          deadLetter(r, f.reason(), f.message(), f.view());
        }
        for (ViewRow row : result.rows()) {
          for (int s = 0; s < sinks.size(); s++) {
            if (fromKafka(s, row.view(), sp) <= offset) {
              rowsBySink.get(s).add(row);
            }
          }
        }
      }
      long next = records.get(records.size() - 1).offset() + 1;
      for (ViewId view : processor.viewIds()) {
        for (int s = 0; s < sinks.size(); s++) {
          if (fromKafka(s, view, sp) < next) {
            advanced.get(s).computeIfAbsent(view, v -> new HashMap<>()).put(sp, next);
          }
        }
      }
      commits.put(tp, new OffsetAndMetadata(next));
    }
    // Positions move past a dead letter only once it is in the topic.
    deadLetters.flush();
    for (int s = 0; s < sinks.size(); s++) {
      write(s, rowsBySink.get(s), advanced.get(s), clockMicros);
    }
    commits.forEach(
        (tp, o) -> applied.put(new SourcePartition(tp.topic(), tp.partition()), o.offset()));
    consumer.commitAsync(commits, null);
  }

  /**
   * Writes rows and the positions they bring their views to into one sink, then remembers those
   * positions; nothing when no view advances.
   */
  private void write(
      int sink, List<ViewRow> rows, Map<ViewId, Map<SourcePartition, Long>> advanced, long clock)
      throws IOException {
    if (advanced.isEmpty()) {
      return;
    }
    sinks.get(sink).write(new RowBatch(rows, advanced, clock));
    advanced.forEach(
        (view, parts) ->
            positions.get(sink).computeIfAbsent(view, v -> new HashMap<>()).putAll(parts));
    rowsBySinkCounter.get(sink).increment(rows.size());
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
      if (fromKafka(s, view, sp) <= offset) {
        return true;
      }
    }
    return false;
  }

  /**
   * The position from which Kafka's records go to {@code view} on {@code sink}: its position, or
   * {@link Long#MAX_VALUE} while it is below the archive's and so filled from the archive.
   */
  private long fromKafka(int sink, ViewId view, SourcePartition sp) {
    long p = position(sink, view, sp);
    return p < archiveFloor(view, sp) ? Long.MAX_VALUE : p;
  }

  /** Below this position {@code view} reads the archive; 0 when it reads Kafka only. */
  private long archiveFloor(ViewId view, SourcePartition sp) {
    if (archiveId == null || archive == null || view.equals(archiveId)) {
      return 0;
    }
    return archived.getOrDefault(sp, 0L);
  }

  private long position(int sink, ViewId view, SourcePartition sp) {
    Long p = positions.get(sink).getOrDefault(view, Map.of()).get(sp);
    if (p == null) {
      if (!sinks.get(sink).accepts(view)) {
        // Never needed, never advanced.
        positions.get(sink).computeIfAbsent(view, v -> new HashMap<>()).put(sp, Long.MAX_VALUE);
        return Long.MAX_VALUE;
      }
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
      ConsumerRecord<byte[], byte[]> r, DeadLetterReason reason, String message, ViewId view)
      throws DeadLetterSender.NotDelivered {
    deadLetters.send(r, reason, message, view);
    deadLetterCounters
        .computeIfAbsent(
            reason,
            why ->
                meters.counter(
                    Ingestion.DEAD_LETTERS_METRIC,
                    "source",
                    source.getName(),
                    "reason",
                    why.code()))
        .increment();
    LOG.debug(
        "source {}: dead letter {}-{}@{}: {}",
        source.getName(),
        r.topic(),
        r.partition(),
        r.offset(),
        message);
  }

  private void seekToRecordedPositions(Collection<TopicPartition> partitions) {
    for (Map<ViewId, Map<SourcePartition, Long>> p : positions) {
      p.clear();
    }
    try {
      refreshArchived();
    } catch (IOException e) {
      // The last positions read stay: a pair below them is filled from the archive later.
      LOG.warn("source {}: the archive's positions could not be read: {}", source.getName(), e);
    }
    for (TopicPartition tp : partitions) {
      SourcePartition sp = new SourcePartition(tp.topic(), tp.partition());
      long min = Long.MAX_VALUE;
      for (ViewId view : processor.viewIds()) {
        for (int s = 0; s < sinks.size(); s++) {
          // A view filled from the archive reads Kafka from the archive's position on.
          min = Math.min(min, Math.max(position(s, view, sp), archiveFloor(view, sp)));
        }
      }
      long next = min == Long.MAX_VALUE ? 0 : min;
      consumer.seek(tp, next);
      applied.put(sp, next);
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
        consumerMetrics.close();
        deadLetters.close();
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

  /** Refuses an event further ahead of the ingesting clock than the future-event policy allows. */
  private void checkNotTooFarAhead(DecodedRecord record, long clockMicros)
      throws BadRecordException {
    FutureEvents policy = config.future().policy();
    if (policy.refuses(record.eventTimeMicros(), clockMicros)) {
      throw new BadRecordException(
          DeadLetterReason.FUTURE_TIMESTAMP,
          "the event timestamp "
              + Micros.toInstant(record.eventTimeMicros())
              + " is "
              + java.time.Duration.of(record.eventTimeMicros() - clockMicros, ChronoUnit.MICROS)
              + " ahead of the ingesting clock ("
              + Micros.toInstant(clockMicros)
              + "); at most "
              + java.time.Duration.of(policy.maxFutureMicros(), ChronoUnit.MICROS)
              + " is accepted (quiver serve --max-future)");
    }
  }
}
