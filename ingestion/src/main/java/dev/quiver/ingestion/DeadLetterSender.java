package dev.quiver.ingestion;

import dev.quiver.registry.rows.ViewId;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Sends the dead letters of one source to its dead-letter topic, whatever their size: the
 * producer's {@code max.request.size} is the topic's {@code max.message.bytes}, and a dead letter
 * that would still be larger is sent with the original headers left out ({@link
 * DeadLetters#HEADERS_DROPPED}), then its value (and if need be its key) cut to fit ({@link
 * DeadLetters#VALUE_TRUNCATED}, {@link DeadLetters#KEY_TRUNCATED}: the original size). The whole
 * record stays referenced by its source topic, partition and offset headers.
 *
 * <p>Sending is asynchronous; {@link #flush()} waits for every dead letter sent since the last
 * flush and fails if any was not delivered, so the caller does not move its positions past a dead
 * letter that is not in the topic. Delivery is at least once: after a failed flush the batch is
 * read again and its dead letters sent again.
 *
 * <p>Not thread-safe: used by the one ingest thread of its source.
 */
final class DeadLetterSender implements AutoCloseable {
  /** Room for the batch header and the record's own framing, beyond key, value and headers. */
  private static final int RECORD_OVERHEAD = 256;

  private static final int HEADER_OVERHEAD = 16;

  /** Messages quote input in bounded pieces already; this bounds the header whatever it says. */
  private static final int MAX_ERROR_CHARS = 2000;

  /** Longest the producer waits for metadata or buffer space in {@code send}. */
  static final Duration MAX_BLOCK = Duration.ofSeconds(10);

  /** Longest a dead letter may take to be acknowledged before the batch counts as failed. */
  static final Duration DELIVERY_TIMEOUT = Duration.ofSeconds(30);

  private final String source;
  private final String topic;
  private final int maxMessageBytes;
  private final Producer<byte[], byte[]> producer;
  private final List<Pending> pending = new ArrayList<>();

  private record Pending(long offset, Future<RecordMetadata> result) {}

  /** A dead letter that did not reach the topic; the batch holding its record must be retried. */
  static final class NotDelivered extends IOException {
    NotDelivered(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * @param maxMessageBytes the dead-letter topic's {@code max.message.bytes}
   * @param clientOverrides Kafka client settings applied last (security, for instance)
   */
  DeadLetterSender(
      String bootstrapServers,
      Map<String, Object> clientOverrides,
      String source,
      String topic,
      int maxMessageBytes) {
    this.source = source;
    this.topic = topic;
    this.maxMessageBytes = maxMessageBytes;
    Map<String, Object> props = new HashMap<>();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    props.put(ProducerConfig.CLIENT_ID_CONFIG, "quiver-dead-letters-" + source);
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, maxMessageBytes);
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, Math.min(16_384, maxMessageBytes));
    props.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Math.max(32L << 20, 2L * maxMessageBytes));
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) MAX_BLOCK.toMillis());
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) DELIVERY_TIMEOUT.toMillis());
    props.putAll(clientOverrides);
    props.remove(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
    this.producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
  }

  /** The most bytes one dead letter may take: the topic's {@code max.message.bytes}. */
  int maxMessageBytes() {
    return maxMessageBytes;
  }

  /** Sends the dead letter of {@code r}; {@code view} is null unless one view failed on it. */
  void send(ConsumerRecord<byte[], byte[]> r, DeadLetterReason reason, String message, ViewId view)
      throws NotDelivered {
    RecordHeaders headers = new RecordHeaders();
    headers.add(DeadLetters.REASON, utf8(reason.code()));
    headers.add(
        DeadLetters.ERROR,
        utf8(message.length() > MAX_ERROR_CHARS ? message.substring(0, MAX_ERROR_CHARS) : message));
    headers.add(DeadLetters.SOURCE, utf8(source));
    headers.add(DeadLetters.TOPIC, utf8(r.topic()));
    headers.add(DeadLetters.PARTITION, utf8(String.valueOf(r.partition())));
    headers.add(DeadLetters.OFFSET, utf8(String.valueOf(r.offset())));
    if (view != null) {
      headers.add(DeadLetters.VIEW, utf8(view.toString()));
    }
    byte[] key = r.key();
    byte[] value = r.value();
    int budget = maxMessageBytes - RECORD_OVERHEAD;
    long own = size(headers);
    long original = 0;
    int originalCount = 0;
    for (Header h : r.headers()) {
      original += size(h);
      originalCount++;
    }
    if (own + original + length(key) + length(value) <= budget) {
      r.headers().forEach(headers::add);
    } else {
      if (originalCount > 0) {
        headers.add(DeadLetters.HEADERS_DROPPED, utf8(originalCount + "," + original));
      }
      // Room for the truncation headers, then key and value in what is left.
      long room = budget - size(headers) - 2L * (HEADER_OVERHEAD + 40);
      if (length(key) + length(value) > room) {
        room = Math.max(0, room);
        if (length(key) > room / 2) {
          headers.add(DeadLetters.KEY_TRUNCATED, utf8(String.valueOf(key.length)));
          key = java.util.Arrays.copyOf(key, (int) (room / 2));
        }
        long valueRoom = room - length(key);
        if (length(value) > valueRoom) {
          headers.add(DeadLetters.VALUE_TRUNCATED, utf8(String.valueOf(value.length)));
          value = java.util.Arrays.copyOf(value, (int) valueRoom);
        }
      }
    }
    try {
      pending.add(
          new Pending(
              r.offset(), producer.send(new ProducerRecord<>(topic, null, key, value, headers))));
    } catch (KafkaException e) {
      pending.clear();
      throw new NotDelivered(
          "dead letter of "
              + r.topic()
              + "-"
              + r.partition()
              + "@"
              + r.offset()
              + " not sent to "
              + topic
              + ": "
              + e.getMessage(),
          e);
    }
  }

  /** Waits for every dead letter sent since the last flush; fails if any was not delivered. */
  void flush() throws NotDelivered {
    if (pending.isEmpty()) {
      return;
    }
    List<Pending> waiting = List.copyOf(pending);
    pending.clear();
    producer.flush();
    for (Pending p : waiting) {
      try {
        p.result().get(DELIVERY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        throw new NotDelivered(
            "dead letter of offset "
                + p.offset()
                + " not delivered to "
                + topic
                + ": "
                + e.getCause().getMessage(),
            e.getCause());
      } catch (TimeoutException e) {
        throw new NotDelivered(
            "dead letter of offset " + p.offset() + " not acknowledged by " + topic, e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new NotDelivered("interrupted while sending dead letters", e);
      }
    }
  }

  private static long size(Iterable<Header> headers) {
    long n = 0;
    for (Header h : headers) {
      n += size(h);
    }
    return n;
  }

  private static long size(Header h) {
    return HEADER_OVERHEAD + h.key().length() * 3L + length(h.value());
  }

  private static long length(byte[] b) {
    return b == null ? 0 : b.length;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(10));
  }
}
