package dev.quiver.server;

import static dev.quiver.server.SkewReference.MINUTE;
import static dev.quiver.server.SkewReference.NO_CREATED;
import static dev.quiver.server.SkewReference.SECOND;
import static dev.quiver.server.SkewReference.TTL;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.LongUnaryOperator;

/**
 * Random event streams chosen against an instant {@code t}: events on and one microsecond either
 * side of window starts, hop boundaries, the TTL and t itself; less than a millisecond apart;
 * stamped up to a few minutes after t; with equal event times and different, equal or missing
 * created times; with absent and JSON-null fields, doubles whose binary sums are inexact, and
 * values repeated among a few (ties of counts and ranks, {@code -0.0} beside {@code 0.0}, strings
 * whose UTF-16 and code point orders differ).
 */
final class SkewStreams {
  private SkewStreams() {}

  /**
   * How far after t an event may be stamped. Under the 5 minutes past which a future-stamped event
   * may be refused at ingestion, so what is expected here does not depend on that policy.
   */
  static final long MAX_AHEAD = 4 * MINUTE + 30 * SECOND;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final DateTimeFormatter MICROS =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSXXX");
  private static final DateTimeFormatter NANOS =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSSXXX");

  /** One source record: its JSON and what the reference reads from it. */
  static final class Event implements SkewReference.Row {
    final String user;
    final long eventMicros;
    final long createdMicros;
    final Map<String, Object> fields;
    final String json;
    long offset = -1;

    Event(
        String user,
        long eventMicros,
        long createdMicros,
        Map<String, Object> fields,
        String json) {
      this.user = user;
      this.eventMicros = eventMicros;
      this.createdMicros = createdMicros;
      this.fields = fields;
      this.json = json;
    }

    @Override
    public long eventMicros() {
      return eventMicros;
    }

    @Override
    public long createdMicros() {
      return createdMicros;
    }

    @Override
    public int partition() {
      return 0;
    }

    @Override
    public long offset() {
      return offset;
    }

    @Override
    public Object field(String name) {
      return fields.get(name);
    }
  }

  /** An entity of a round, the kind of stream it got, and its events. */
  record Entity(String id, String kind, List<Event> events) {}

  /** A round: its seed, its instant t (epoch microseconds) and its entities. */
  record Round(int number, long seed, long t, List<Entity> entities) {}

  /** Text of {@code micros} (plus {@code extraNanos}, finer than Quiver keeps) in {@code zone}. */
  static String text(long micros, int extraNanos, ZoneOffset zone) {
    Instant i =
        Instant.ofEpochSecond(
            Math.floorDiv(micros, SECOND), Math.floorMod(micros, SECOND) * 1000 + extraNanos);
    return (extraNanos == 0 ? MICROS : NANOS).format(i.atOffset(zone));
  }

  static String text(long micros) {
    return text(micros, 0, ZoneOffset.UTC);
  }

  /**
   * Chooses a round's instant, before {@code notAfter}: any microsecond, or one on a millisecond or
   * a hop boundary.
   */
  static long chooseT(Random r, long notAfter) {
    // Within the UTC day before the one of notAfter: every window and hop divides a day, so a
    // seed gives the same streams relative to every boundary on any date.
    long day = Math.floorDiv(notAfter, SkewReference.DAY) * SkewReference.DAY - SkewReference.DAY;
    long t = day + (long) (r.nextDouble() * SkewReference.DAY);
    return switch (r.nextInt(6)) {
      case 0 -> Math.floorDiv(t, 1000) * 1000; // a whole millisecond
      case 1 -> Math.floorDiv(t, 1000) * 1000 + 999; // just before the next one
      case 2 -> SkewReference.W_10M.hopStart(t); // on a hop boundary
      case 3 -> SkewReference.W_1H.hopStart(t);
      default -> t;
    };
  }

  /** Generates round {@code number}: fresh entities, so rounds do not see each other's events. */
  static Round round(int number, long seed, long t) {
    Random r = new Random(seed);
    List<Entity> out = new ArrayList<>();
    Builder b = new Builder(r, t, "r" + number + "_");
    out.add(b.entity("none", 0, List.of()));
    out.add(b.entity("none", 1, List.of()));

    // Rows only after t: as of t the entity has none.
    List<Long> future = new ArrayList<>();
    for (int i = 0, n = 1 + r.nextInt(4); i < n; i++) {
      future.add(b.future());
    }
    out.add(b.entity("future_only", 0, future));

    // Equal event times, created times that differ (by less than a millisecond too) or are
    // missing: the created time decides.
    {
      long at = r.nextBoolean() ? t : b.pastOrAt();
      long c = t - (long) (r.nextDouble() * MINUTE);
      long[] created = {NO_CREATED, c, c + 1, c + 300, c - 700, NO_CREATED};
      List<long[]> rows = new ArrayList<>();
      for (int i = 0, n = 2 + r.nextInt(3); i < n; i++) {
        rows.add(new long[] {at, created[r.nextInt(created.length)]});
      }
      rows.add(new long[] {b.future(), c + 5 * SECOND});
      out.add(b.entityWithCreated("tie_created", rows));
    }

    // Equal event and created times: the offset decides.
    {
      long at = r.nextBoolean() ? t : b.pastOrAt();
      long c = r.nextBoolean() ? NO_CREATED : at + (long) (r.nextDouble() * SECOND);
      List<long[]> rows = new ArrayList<>();
      for (int i = 0, n = 2 + r.nextInt(3); i < n; i++) {
        rows.add(new long[] {at, c});
      }
      out.add(b.entityWithCreated("tie_full", rows));
    }

    // Less than a millisecond apart, on both sides of t.
    {
      long[] deltas = {-1000, -700, -300, -1, 0, 1, 500, 999, 1000};
      List<Long> times = new ArrayList<>();
      for (long d : deltas) {
        if (r.nextInt(3) != 0) {
          times.add(t + d);
        }
      }
      if (times.isEmpty()) {
        times.add(t - 300);
      }
      out.add(b.entity("sub_ms", r.nextBoolean() ? 1 : 0, times));
    }

    // The latest row as of t exactly at the TTL's edge, and just past it; rows after t too.
    out.add(b.entity("ttl_edge", 0, b.around(t - TTL)));
    out.add(b.entity("ttl_past", 0, b.around(t - TTL - 1)));

    // Window starts, hop boundaries and t, a microsecond either side.
    for (int i = 0; i < 2; i++) {
      SkewReference.Window w = SkewReference.WINDOWS.get(r.nextInt(SkewReference.WINDOWS.size()));
      long start = w.start(t);
      long hop = w.hopStart(t);
      List<Long> times = new ArrayList<>();
      for (long at :
          new long[] {
            start - 1,
            start,
            start + 1,
            start + w.hopMicros(),
            start + w.hopMicros() - 1,
            hop - 1,
            hop,
            t,
            t + 1,
            hop + w.hopMicros() - 1,
            hop + w.hopMicros()
          }) {
        if (at <= t + MAX_AHEAD && r.nextInt(4) != 0) {
          times.add(at);
        }
      }
      times.add(t);
      out.add(b.entity("edges_" + w.suffix(), 2, times));
    }

    // Sums that plain floating point gets wrong, all inside every window.
    {
      List<Long> times = new ArrayList<>();
      for (int i = 0, n = 5 + r.nextInt(8); i < n; i++) {
        times.add(t - (long) (r.nextDouble() * 9 * MINUTE));
      }
      times.add(b.future());
      out.add(b.entity("inexact_sums", 3, times));
    }

    // Few distinct values, each repeated, all inside every window: ties of counts and ranks, and
    // as many rows as a small percentile sample holds, or one more.
    {
      int[] sizes = {1, 2, 5, 8, 9, 10, 20};
      List<Long> times = new ArrayList<>();
      for (int i = 0, n = sizes[r.nextInt(sizes.length)]; i < n; i++) {
        times.add(t - (long) (r.nextDouble() * 9 * MINUTE));
      }
      times.add(b.future());
      out.add(b.entity("repeats", 4, times));
    }

    // Anything.
    for (int i = 0; i < 3; i++) {
      List<Long> times = new ArrayList<>();
      for (int k = 0, n = 3 + r.nextInt(8); k < n; k++) {
        times.add(r.nextInt(10) < 7 ? b.pastOrAt() : b.future());
      }
      out.add(b.entity("mixed", r.nextInt(3), times));
    }
    return new Round(number, seed, t, List.copyOf(out));
  }

  /** Makes the events of one round. */
  private static final class Builder {
    private final Random r;
    private final long t;
    private final String prefix;
    private final Map<String, Integer> seen = new HashMap<>();

    Builder(Random r, long t, String prefix) {
      this.r = r;
      this.t = t;
      this.prefix = prefix;
    }

    /** An instant at or before t, from the instants the semantics are most likely to get wrong. */
    long pastOrAt() {
      SkewReference.Window w = SkewReference.WINDOWS.get(r.nextInt(SkewReference.WINDOWS.size()));
      List<LongUnaryOperator> menu =
          List.of(
              x -> x,
              x -> x - 1,
              x -> x - 300,
              x -> x - 700,
              x -> x - 1000,
              x -> x - TTL,
              x -> x - TTL - 1,
              x -> x - TTL + 1,
              w::start,
              x -> w.start(x) - 1,
              x -> w.start(x) + w.hopMicros(),
              w::hopStart,
              x -> w.hopStart(x) - 1,
              x -> x - 1 - (long) (r.nextDouble() * 999),
              x -> x - (long) (r.nextDouble() * 10 * MINUTE),
              x -> x - (long) (r.nextDouble() * 2 * SkewReference.HOUR),
              x -> x - (long) (r.nextDouble() * 26 * SkewReference.HOUR));
      return menu.get(r.nextInt(menu.size())).applyAsLong(t);
    }

    /** An instant after t and at most {@link #MAX_AHEAD} after it. */
    long future() {
      long at =
          switch (r.nextInt(8)) {
            case 0 -> t + 1;
            case 1 -> t + 500;
            case 2 -> t + 1 + (long) (r.nextDouble() * 999);
            case 3 -> t + 1000;
            case 4 -> t + SECOND + (long) (r.nextDouble() * 4 * SECOND);
            case 5 -> SkewReference.W_10M.hopStart(t) + MINUTE; // the next tile's first instant
            case 6 -> SkewReference.W_10M.hopStart(t) + MINUTE - 1; // the last of t's tile
            default -> t + MINUTE + (long) (r.nextDouble() * 3 * MINUTE);
          };
      return at > t && at <= t + MAX_AHEAD ? at : t + 1 + (long) (r.nextDouble() * MINUTE);
    }

    /**
     * An edge as the latest row at or before t, older rows before it and rows after t (which a
     * lookup at t must not see).
     */
    List<Long> around(long edge) {
      List<Long> times = new ArrayList<>();
      times.add(edge);
      for (int i = 0, n = r.nextInt(3); i < n; i++) {
        times.add(edge - 1 - (long) (r.nextDouble() * SkewReference.HOUR));
      }
      for (int i = 0, n = 1 + r.nextInt(2); i < n; i++) {
        times.add(future());
      }
      return times;
    }

    String id(String kind) {
      int n = seen.merge(kind, 1, Integer::sum);
      return prefix + kind + "_" + n;
    }

    /**
     * An entity with events at {@code times}; {@code values}: 0 ordinary, 1 mostly nulls, 2 and 3
     * doubles whose sums are inexact in binary, 4 a few values repeated.
     */
    Entity entity(String kind, int values, List<Long> times) {
      String id = id(kind);
      List<Event> events = new ArrayList<>();
      for (long at : times) {
        events.add(event(id, at, randomCreated(at), values));
      }
      return new Entity(id, kind, List.copyOf(events));
    }

    /** An entity with events at {@code rows[i][0]} created at {@code rows[i][1]}. */
    Entity entityWithCreated(String kind, List<long[]> rows) {
      String id = id(kind);
      List<Event> events = new ArrayList<>();
      for (long[] row : rows) {
        events.add(event(id, row[0], row[1], r.nextInt(3)));
      }
      return new Entity(id, kind, List.copyOf(events));
    }

    private long randomCreated(long at) {
      return switch (r.nextInt(5)) {
        case 0 -> NO_CREATED;
        case 1 -> at;
        default -> at + (long) (r.nextDouble() * 10 * SECOND);
      };
    }

    private static final double[] INEXACT = {
      1e16, -1e16, 1.0, 0.1, 0.2, 0.3, -0.1, 1e-300, -1e-300, 3.0, 2.5e-8, 1e300, -1e300
    };

    private static final String[] STRINGS = {
      "a", "b", "", "café", "𝄞", "x y", "\"q\"", "z", "\ufb00"
    };

    /** Few values, for repeats: U+FB00 sorts after U+1D11E by code point, before it in UTF-16. */
    private static final double[] FEW_DOUBLES = {-0.0, 0.0, 1.5, -2.0};

    private static final String[] FEW_STRINGS = {"a", "𝄞", "\ufb00"};

    private Event event(String user, long at, long created, int kind) {
      ObjectNode json = JSON.createObjectNode();
      Map<String, Object> fields = new HashMap<>();
      json.put("user_id", user);
      int finer = r.nextInt(10) == 0 ? 1 + r.nextInt(999) : 0;
      ZoneOffset zone = r.nextInt(8) == 0 ? ZoneOffset.ofHoursMinutes(5, 30) : ZoneOffset.UTC;
      json.put("ts", text(at, finer, zone));
      if (created == NO_CREATED) {
        if (r.nextBoolean()) {
          json.putNull("created");
        }
      } else {
        json.put("created", text(created, r.nextInt(10) == 0 ? 1 + r.nextInt(999) : 0, zone));
      }
      double nullShare = kind == 1 ? 0.6 : 0.2;
      if (present(json, "x", nullShare)) {
        double x =
            kind == 4
                ? FEW_DOUBLES[r.nextInt(FEW_DOUBLES.length)]
                : kind >= 2 || r.nextBoolean()
                    ? INEXACT[r.nextInt(INEXACT.length)]
                    : Math.round(r.nextGaussian() * 1e6) / 1e3;
        json.put("x", x);
        fields.put("x", x);
      }
      if (present(json, "n", nullShare)) {
        long n =
            kind == 4
                ? r.nextInt(4) - 1
                : r.nextBoolean()
                    ? r.nextInt(100) - 50
                    : (long) (r.nextDouble() * 2e12) - 1_000_000_000_000L;
        json.put("n", n);
        fields.put("n", n);
      }
      if (present(json, "s", nullShare)) {
        String s =
            kind == 4
                ? FEW_STRINGS[r.nextInt(FEW_STRINGS.length)]
                : STRINGS[r.nextInt(STRINGS.length)];
        json.put("s", s);
        fields.put("s", s);
      }
      if (present(json, "at", nullShare)) {
        long v =
            kind == 4
                ? t - r.nextInt(3) * SECOND
                : t + (long) ((r.nextDouble() - 0.5) * 4 * SkewReference.DAY);
        int nanos = r.nextInt(5) == 0 ? 1 + r.nextInt(999) : 0;
        json.put("at", text(v, nanos, r.nextInt(4) == 0 ? ZoneOffset.ofHours(-7) : ZoneOffset.UTC));
        fields.put("at", v);
      }
      if (present(json, "y", 0.7)) {
        double y = INEXACT[r.nextInt(INEXACT.length)];
        json.put("y", y);
        fields.put("y", y);
      }
      return new Event(user, at, created, Map.copyOf(fields), json.toString());
    }

    /** Whether a field gets a value; otherwise it is left out or written as JSON null. */
    private boolean present(ObjectNode json, String field, double nullShare) {
      if (r.nextDouble() >= nullShare) {
        return true;
      }
      if (r.nextBoolean()) {
        json.putNull(field);
      }
      return false;
    }
  }
}
