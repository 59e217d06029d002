package dev.quiver.server.quickstart;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Realistic events for the payments example: card authorisations over a recent time span (amounts
 * log-normal, mostly domestic, a few declines, bursts on some cards) and chargebacks reported
 * against some of them. Deterministic for a seed.
 */
public final class PaymentsEvents {
  private static final String[] COUNTRIES = {
    "US", "US", "US", "US", "US", "CA", "GB", "FR", "MX", "DE"
  };
  private static final String[] CHANNELS = {"pos", "pos", "pos", "ecommerce", "ecommerce", "atm"};
  private static final String[] REASONS = {
    "fraud", "not_received", "duplicate", "not_as_described"
  };

  /** A record for a topic: its key and JSON value. */
  public record Event(String key, String json) {}

  private final Random random;
  private final int cards;
  private final int merchants;

  public PaymentsEvents(long seed, int cards, int merchants) {
    this.random = new Random(seed);
    this.cards = cards;
    this.merchants = merchants;
  }

  public static String card(int i) {
    return String.format(Locale.ROOT, "card_%04d", i);
  }

  public static String merchant(int i) {
    return String.format(Locale.ROOT, "m_%03d", i);
  }

  /** {@code count} transactions with event times in the {@code span} before {@code now}. */
  public List<Event> transactions(int count, Instant now, Duration span) {
    return transactions(count, now, span, 1.0);
  }

  /**
   * {@code count} transactions as {@link #transactions(int, Instant, Duration)} draws them, with
   * every amount multiplied by {@code amountFactor}: a shift in spend for the drift walkthrough
   * (the same cards, merchants and countries; the model's amounts move).
   */
  public List<Event> transactions(int count, Instant now, Duration span, double amountFactor) {
    if (!(amountFactor > 0) || Double.isInfinite(amountFactor)) {
      throw new IllegalArgumentException("amountFactor must be positive, not " + amountFactor);
    }
    List<Event> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      // Low card numbers are busy cards: the quickstart looks them up.
      int c = (int) Math.min(cards - 1, Math.abs(random.nextGaussian()) * cards / 3);
      int m = random.nextInt(merchants);
      Instant event = now.minusMillis((long) (random.nextDouble() * span.toMillis()));
      Instant ingested = event.plusMillis(50 + random.nextInt(2000));
      double amount =
          Math.round(Math.exp(3.2 + random.nextGaussian() * 0.9) * amountFactor * 100) / 100.0;
      boolean approved = random.nextInt(100) >= 4;
      String json =
          String.format(
              Locale.ROOT,
              "{\"txn_id\":\"t%08d\",\"card_id\":\"%s\",\"merchant_id\":\"%s\",\"amount\":%.2f,"
                  + "\"currency\":\"%s\",\"country\":\"%s\",\"channel\":\"%s\",\"approved\":%b,"
                  + "\"event_time\":\"%s\",\"ingested_at\":\"%s\"}",
              random.nextInt(100_000_000),
              card(c),
              merchant(m),
              amount,
              "USD",
              COUNTRIES[random.nextInt(COUNTRIES.length)],
              CHANNELS[random.nextInt(CHANNELS.length)],
              approved,
              event,
              ingested);
      out.add(new Event(card(c), json));
    }
    return out;
  }

  /** {@code count} chargebacks reported in the {@code span} before {@code now} (epoch millis). */
  public List<Event> chargebacks(int count, Instant now, Duration span) {
    List<Event> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int m = random.nextInt(merchants);
      long reported = now.toEpochMilli() - (long) (random.nextDouble() * span.toMillis());
      String json =
          String.format(
              Locale.ROOT,
              "{\"txn_id\":\"t%08d\",\"merchant_id\":\"%s\",\"card_id\":\"%s\",\"amount\":%.2f,"
                  + "\"reason_code\":\"%s\",\"reported_at\":%d}",
              random.nextInt(100_000_000),
              merchant(m),
              card(random.nextInt(cards)),
              Math.round(Math.exp(3.5 + random.nextGaussian()) * 100) / 100.0,
              REASONS[random.nextInt(REASONS.length)],
              reported);
      out.add(new Event(merchant(m), json));
    }
    return out;
  }
}
