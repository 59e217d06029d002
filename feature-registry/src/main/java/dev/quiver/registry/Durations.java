package dev.quiver.registry;

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

  private Durations() {}

  /** Parses a duration; empty if the text is not one (or overflows). */
  public static Optional<Duration> parse(String text) {
    String t = text.trim();
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
