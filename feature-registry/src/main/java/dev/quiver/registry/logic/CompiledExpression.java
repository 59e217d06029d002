package dev.quiver.registry.logic;

import com.google.common.collect.ImmutableMap;
import com.google.protobuf.ByteString;
import dev.cel.common.ast.CelExpr;
import dev.cel.common.values.CelByteString;
import dev.cel.common.values.NullValue;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelEvaluationListener;
import dev.cel.runtime.CelRuntime;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import dev.quiver.registry.util.Messages;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One compiled, type-checked CEL expression: the single implementation of a piece of feature logic,
 * shared by every path that computes the feature.
 *
 * <p>Rows are maps from source field name to a Java value: {@link Boolean}, {@link Integer} or
 * {@link Long}, {@link Float} or {@link Double}, {@link String}, {@code byte[]} or {@link
 * ByteString}, {@link Instant}, or a {@link List} of those. A field that is absent or null makes
 * the expression yield null without being evaluated. Results are converted to the declared type:
 * {@link Boolean}, {@link Integer} (int32), {@link Long} (int64), {@link Float}, {@link Double},
 * {@link String}, {@link ByteString}, {@link Instant} or an immutable {@link List} of those.
 *
 * <p>Thread-safe and immutable: one instance serves every ingestion thread.
 */
public final class CompiledExpression {
  /**
   * The most comprehension iterations ({@code all}, {@code exists}, {@code map}, {@code filter}…)
   * one evaluation may run, counted over all comprehensions of the expression. Past it the
   * evaluation stops with an {@link ExpressionException}, so that no record can make an expression
   * run away, whatever the size of its list fields.
   */
  public static final int MAX_ITERATIONS = 100_000;

  /**
   * The most steps (sub-expressions evaluated) one evaluation may take: ten times the most {@link
   * ExpressionCost} lets {@code validate} accept, so that only inputs far larger than assumed reach
   * it. Deterministic, like {@link #MAX_ITERATIONS}: the same record fails on every node.
   */
  public static final int MAX_STEPS = 1_000_000;

  /**
   * The longest one evaluation may run, a last resort for work that counting steps cannot see (a
   * step over a string of megabytes, repeated). Measured in the evaluating thread's CPU time, so a
   * loaded machine does not send a record that is cheap to evaluate to the dead-letter topic.
   */
  public static final Duration MAX_TIME = Duration.ofSeconds(1);

  /**
   * {@link #MAX_TIME} in nanoseconds; tests of the other budgets raise it so a slow machine does
   * not reach it first.
   */
  static volatile long maxTimeNanos = MAX_TIME.toNanos();

  private final String source;
  private final CelRuntime.Program program;
  private final Set<String> variables;
  private final ValueType resultType;

  CompiledExpression(
      String source, CelRuntime.Program program, Set<String> variables, ValueType resultType) {
    this.source = source;
    this.program = program;
    this.variables = Set.copyOf(variables);
    this.resultType = resultType;
  }

  /** The expression as written in the registry. */
  public String source() {
    return source;
  }

  /** Source fields the expression reads. */
  public Set<String> variables() {
    return variables;
  }

  /** The type of every non-null result. */
  public ValueType resultType() {
    return resultType;
  }

  /**
   * Evaluates the expression over one row.
   *
   * @return the value in the Java form of {@link #resultType()}, or null when a field it reads is
   *     null or the expression itself yields null
   * @throws ExpressionException when evaluation fails or the result does not fit the declared type
   */
  public Object evaluate(Map<String, ?> row) throws ExpressionException {
    return evaluatePrepared(prepare(row));
  }

  /**
   * A row converted once for every expression that will read it: the same fields, in the forms the
   * expression runtime takes. Evaluating many expressions over one record should prepare it once
   * and call {@link #evaluatePrepared}.
   */
  public static Map<String, Object> prepare(Map<String, ?> row) {
    // Immutable, because the CEL runtime copies any other map into one on every evaluation.
    ImmutableMap.Builder<String, Object> out = ImmutableMap.builderWithExpectedSize(row.size());
    row.forEach(
        (k, v) -> {
          if (v != null) {
            out.put(k, toCel(v));
          }
        });
    return out.buildOrThrow();
  }

  /** {@link #evaluate} over a row made by {@link #prepare}. */
  public Object evaluatePrepared(Map<String, Object> prepared) throws ExpressionException {
    for (String v : variables) {
      if (prepared.get(v) == null) {
        return null;
      }
    }
    Object result;
    try {
      result = program.trace(prepared, new Budget());
    } catch (OverBudget e) {
      throw new ExpressionException(
          "expression " + Messages.quote(source) + " failed: " + e.getMessage());
    } catch (CelEvaluationException e) {
      String why = stripPrefix(e.getMessage());
      if (why.startsWith("Iteration budget exceeded")) {
        why =
            "it ran past "
                + String.format("%,d", MAX_ITERATIONS)
                + " comprehension iterations, the most one evaluation may run";
      }
      throw new ExpressionException("expression " + Messages.quote(source) + " failed: " + why, e);
    }
    if (result == null || result instanceof NullValue) {
      return null;
    }
    return fromCel(result, resultType);
  }

  private static final java.lang.management.ThreadMXBean THREADS =
      java.lang.management.ManagementFactory.getThreadMXBean();

  /**
   * The time an evaluation has used: the thread's CPU time where the JVM measures it, so a busy
   * machine does not make an expression look expensive; else the wall clock.
   */
  private static long now() {
    long cpu = THREADS.isCurrentThreadCpuTimeSupported() ? THREADS.getCurrentThreadCpuTime() : -1;
    return cpu >= 0 ? cpu : System.nanoTime();
  }

  /** Counts the steps of one evaluation and watches its time; one instance per evaluation. */
  private static final class Budget implements CelEvaluationListener {
    // Set at the first check: most evaluations end sooner, and reading the clock costs.
    private long deadline;
    private int steps;

    @Override
    public void callback(CelExpr expr, Object result) {
      if (++steps > MAX_STEPS) {
        throw new OverBudget(
            "it took more than "
                + String.format("%,d", MAX_STEPS)
                + " steps, the most one evaluation may take");
      }
      if ((steps & 15) != 0) {
        return;
      }
      if (steps == 16) {
        deadline = now() + maxTimeNanos;
      } else if (now() - deadline > 0) {
        throw new OverBudget(
            "it ran longer than "
                + maxTimeNanos / 1_000_000
                + " ms, the most one evaluation may run");
      }
    }
  }

  /**
   * Thrown inside the CEL runtime to stop an evaluation over its budget. An {@link Error}, not an
   * exception, because CEL turns exceptions inside {@code &&}, {@code ||} and comprehensions into
   * error values that a later operand may absorb, and evaluation would go on; it catches no {@code
   * Error}, so this one unwinds the whole evaluation (running its cleanup) to {@link
   * #evaluatePrepared}, which turns it into an {@link ExpressionException}.
   */
  private static final class OverBudget extends Error {
    private static final long serialVersionUID = 1L;

    OverBudget(String message) {
      super(message, null, false, false);
    }
  }

  private Object fromCel(Object value, ValueType type) throws ExpressionException {
    if (type.hasListOf()) {
      if (!(value instanceof List<?> list)) {
        throw mismatch(value, type);
      }
      List<Object> out = new ArrayList<>(list.size());
      ValueType element = Types.of(type.getListOf());
      for (Object item : list) {
        if (item == null || item instanceof NullValue) {
          throw new ExpressionException(
              "expression " + Messages.quote(source) + " produced a list with a null element");
        }
        out.add(fromCel(item, element));
      }
      return List.copyOf(out);
    }
    ScalarType s = type.getScalar();
    switch (s) {
      case SCALAR_TYPE_BOOL:
        if (value instanceof Boolean) {
          return value;
        }
        break;
      case SCALAR_TYPE_INT32:
        if (value instanceof Long l) {
          if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
            throw new ExpressionException(
                "expression "
                    + Messages.quote(source)
                    + " produced "
                    + l
                    + ", out of range for int32");
          }
          return l.intValue();
        }
        break;
      case SCALAR_TYPE_INT64:
        if (value instanceof Long) {
          return value;
        }
        break;
      case SCALAR_TYPE_FLOAT:
        if (value instanceof Double d) {
          float f = d.floatValue();
          if (Float.isInfinite(f) && !d.isInfinite()) {
            throw new ExpressionException(
                "expression "
                    + Messages.quote(source)
                    + " produced "
                    + d
                    + ", out of range for float");
          }
          return f;
        }
        break;
      case SCALAR_TYPE_DOUBLE:
        if (value instanceof Double) {
          return value;
        }
        break;
      case SCALAR_TYPE_STRING:
        if (value instanceof String) {
          return value;
        }
        break;
      case SCALAR_TYPE_BYTES:
        if (value instanceof CelByteString b) {
          return ByteString.copyFrom(b.toByteArray());
        }
        if (value instanceof ByteString) {
          return value;
        }
        break;
      case SCALAR_TYPE_TIMESTAMP:
        if (value instanceof Instant) {
          return value;
        }
        break;
      default:
        break;
    }
    throw mismatch(value, type);
  }

  private ExpressionException mismatch(Object value, ValueType type) {
    return new ExpressionException(
        "expression "
            + Messages.quote(source)
            + " produced a "
            + value.getClass().getSimpleName()
            + " where "
            + Types.format(type)
            + " was declared");
  }

  static Object toCel(Object value) {
    if (value instanceof Integer i) {
      return i.longValue();
    }
    if (value instanceof Float f) {
      return f.doubleValue();
    }
    if (value instanceof byte[] b) {
      return CelByteString.of(b);
    }
    if (value instanceof ByteString b) {
      return CelByteString.of(b.toByteArray());
    }
    if (value instanceof List<?> list) {
      boolean needs = false;
      for (Object o : list) {
        if (o instanceof Integer
            || o instanceof Float
            || o instanceof byte[]
            || o instanceof ByteString) {
          needs = true;
          break;
        }
      }
      if (!needs) {
        return list;
      }
      List<Object> out = new ArrayList<>(list.size());
      for (Object o : list) {
        out.add(toCel(o));
      }
      return out;
    }
    return value;
  }

  private static String stripPrefix(String message) {
    String m = message == null ? "" : message;
    int i = m.indexOf(": ");
    return m.startsWith("evaluation error") && i > 0 ? m.substring(i + 2) : m;
  }

  @Override
  public String toString() {
    return source;
  }
}
