package dev.quiver.registry;

import dev.quiver.registry.semantics.TimeRange;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as registry files write them: {@code 0}, or one or more amounts with units {@code ms,
 * s, m, h, d, w}, largest first, as in {@code 30d}, {@code 90s} or {@code 1h30m}.
 */
public final class Durations {
  private static final Pattern WHOLE = Pattern.compile("(?:\\d+(?:ms|s|m|h|d|w))+");
  private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d|w)");

  /** What a valid duration looks like, for error messages. */
  public static final String EXPECTED = "a duration such as 0, 90s, 5m, 1h, 30d or 1h30m";

  /**
   * The longest duration a registry accepts: the span of {@link TimeRange}, the times Quiver
   * stores. A ttl or window longer than that cannot tell any two stored times apart, and bounding
   * it keeps every sum of a time and a duration far from overflow.
   */
  public static final Duration MAX = Duration.between(TimeRange.MIN, TimeRange.END);

  /** The accepted range, for error messages. */
  public static final String RANGE =
      "at most " + MAX.toDays() + "d, the span of accepted times (" + TimeRange.describe() + ")";

  /** Text longer than this is not a duration, whatever it holds (and is never matched). */
  private static final int MAX_TEXT = 200;

  private Durations() {}

  /** Parses a duration; empty if the text is not one or it is longer than {@link #MAX}. */
  public static Optional<Duration> parse(String text) {
    return parseUnbounded(text).filter(d -> d.compareTo(MAX) <= 0);
  }

  /**
   * Whether {@code text} is written as a duration but is longer than {@link #MAX} (however large
   * its numbers), so that a message can say "out of range" rather than "not a duration".
   */
  public static boolean outOfRange(String text) {
    String t = text.trim();
    return t.length() <= MAX_TEXT
        && WHOLE.matcher(t).matches()
        && parseUnbounded(t).map(d -> d.compareTo(MAX) > 0).orElse(inOrder(t));
  }

  private static boolean inOrder(String t) {
    Matcher m = PART.matcher(t);
    int lastRank = Integer.MAX_VALUE;
    while (m.find()) {
      int rank = rank(m.group(2));
      if (rank >= lastRank) {
        return false;
      }
      lastRank = rank;
    }
    return true;
  }

  private static Optional<Duration> parseUnbounded(String text) {
    String t = text.trim();
    if (t.length() > MAX_TEXT) {
      return Optional.empty();
    }
    if (t.equals("0")) {
      return Optional.of(Duration.ZERO);
    }
    if (!WHOLE.matcher(t).matches()) {
      return Optional.empty();
    }
    Duration total = Duration.ZERO;
    Matcher m = PART.matcher(t);
    int lastRank = Integer.MAX_VALUE;
    try {
      while (m.find()) {
        long n = Long.parseLong(m.group(1));
        int rank = rank(m.group(2));
        if (rank >= lastRank) {
          return Optional.empty();
        }
        lastRank = rank;
        total = total.plus(unit(m.group(2)).multipliedBy(n));
      }
    } catch (ArithmeticException | NumberFormatException e) {
      return Optional.empty();
    }
    return Optional.of(total);
  }

  /** The shortest registry-file spelling of a duration, e.g. {@code 1h30m}. */
  public static String format(Duration d) {
    if (d.isZero()) {
      return "0";
    }
    StringBuilder out = new StringBuilder();
    long ms = d.toMillis();
    String[] units = {"d", "h", "m", "s", "ms"};
    for (String u : units) {
      long size = unit(u).toMillis();
      if (ms >= size) {
        out.append(ms / size).append(u);
        ms %= size;
      }
    }
    return out.toString();
  }

  public static com.google.protobuf.Duration toProto(Duration d) {
    return com.google.protobuf.Duration.newBuilder()
        .setSeconds(d.getSeconds())
        .setNanos(d.getNano())
        .build();
  }

  public static Duration fromProto(com.google.protobuf.Duration d) {
    return Duration.ofSeconds(d.getSeconds(), d.getNanos());
  }

  private static int rank(String unit) {
    return switch (unit) {
      case "ms" -> 0;
      case "s" -> 1;
      case "m" -> 2;
      case "h" -> 3;
      case "d" -> 4;
      default -> 5;
    };
  }

  private static Duration unit(String unit) {
    return switch (unit) {
      case "ms" -> Duration.ofMillis(1);
      case "s" -> Duration.ofSeconds(1);
      case "m" -> Duration.ofMinutes(1);
      case "h" -> Duration.ofHours(1);
      case "d" -> Duration.ofDays(1);
      default -> Duration.ofDays(7);
    };
  }
}
