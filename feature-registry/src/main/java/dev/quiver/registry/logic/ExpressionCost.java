package dev.quiver.registry.logic;

import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.ast.CelConstant;
import dev.cel.common.ast.CelExpr;
import dev.cel.common.types.CelKind;
import dev.cel.common.types.CelType;
import java.util.Optional;

/**
 * A static estimate of how many steps one evaluation of a checked expression takes, so that {@code
 * quiver validate} can refuse an expression that would be slow on every record.
 *
 * <p>Every node evaluated costs one step. A comprehension ({@code all}, {@code exists}, {@code
 * map}, {@code filter}…) costs its range, its initial value and its result once, plus its condition
 * and step once per element, so nested comprehensions multiply. The number of elements is the size
 * of a list or map literal, the size of the list a {@code map} or {@code filter} produced, and
 * {@link #ASSUMED_LIST_SIZE} for anything whose size is only known at run time (a list field).
 * Functions over strings or bytes cost one step more per {@link #CHARS_PER_STEP} characters: a
 * literal's length, or {@link #ASSUMED_STRING_SIZE} for a field.
 *
 * <p>The estimate is an upper bound for expressions over literals and a guess for fields; what a
 * guess lets through is stopped at run time by {@link CompiledExpression#MAX_ITERATIONS} and {@link
 * CompiledExpression#MAX_STEPS}. Stateless and thread-safe.
 */
public final class ExpressionCost {
  /** The highest estimated cost {@code validate} accepts. */
  public static final long MAX_COST = 100_000;

  /** Elements assumed in a list or map whose size is only known at run time. */
  public static final long ASSUMED_LIST_SIZE = 50;

  /** Characters assumed in a string or bytes value only known at run time. */
  public static final long ASSUMED_STRING_SIZE = 100;

  /** Characters of a string a function handles per step. */
  public static final long CHARS_PER_STEP = 10;

  /** Estimates past this are all "too costly"; it keeps the arithmetic far from overflow. */
  private static final long CAP = Long.MAX_VALUE / 4;

  private final CelAbstractSyntaxTree ast;

  private ExpressionCost(CelAbstractSyntaxTree ast) {
    this.ast = ast;
  }

  /** The estimated cost of one evaluation of a checked expression. */
  public static long estimate(CelAbstractSyntaxTree ast) {
    return new ExpressionCost(ast).cost(ast.getExpr());
  }

  /** The message for an expression whose estimate is over {@link #MAX_COST}, or empty. */
  public static Optional<String> problem(long cost) {
    if (cost <= MAX_COST) {
      return Optional.empty();
    }
    return Optional.of(
        "too costly: estimated cost "
            + (cost >= CAP ? "over " + CAP : String.format("%,d", cost))
            + " steps per evaluation exceeds the limit of "
            + String.format("%,d", MAX_COST)
            + " (nested comprehensions multiply; a list field counts as "
            + ASSUMED_LIST_SIZE
            + " elements)");
  }

  private long cost(CelExpr e) {
    return switch (e.getKind()) {
      case SELECT -> add(1, cost(e.select().operand()));
      case CALL -> {
        long c = 1;
        if (e.call().target().isPresent()) {
          c = add(c, cost(e.call().target().get()));
          c = add(c, textSteps(e.call().target().get()));
        }
        for (CelExpr a : e.call().args()) {
          c = add(c, cost(a));
          c = add(c, textSteps(a));
        }
        if (e.call().function().equals("@in") && e.call().args().size() == 2) {
          c = add(c, size(e.call().args().get(1)));
        }
        yield c;
      }
      case LIST -> {
        long c = 1;
        for (CelExpr el : e.list().elements()) {
          c = add(c, cost(el));
        }
        yield c;
      }
      case MAP -> {
        long c = 1;
        for (CelExpr.CelMap.Entry en : e.map().entries()) {
          c = add(c, add(cost(en.key()), cost(en.value())));
        }
        yield c;
      }
      case STRUCT -> {
        long c = 1;
        for (CelExpr.CelStruct.Entry en : e.struct().entries()) {
          c = add(c, cost(en.value()));
        }
        yield c;
      }
      case COMPREHENSION -> {
        CelExpr.CelComprehension c = e.comprehension();
        long once = add(add(cost(c.iterRange()), cost(c.accuInit())), cost(c.result()));
        long each = add(cost(c.loopCondition()), cost(c.loopStep()));
        yield add(1, add(once, multiply(size(c.iterRange()), each)));
      }
      default -> 1;
    };
  }

  /** Elements an evaluation of {@code e} may hold, when it is a list or a map. */
  private long size(CelExpr e) {
    switch (e.getKind()) {
      case LIST:
        return e.list().elements().size();
      case MAP:
        return e.map().entries().size();
      case COMPREHENSION:
        // map() and filter() produce at most one element per element of their range.
        return size(e.comprehension().iterRange());
      case CALL:
        if (e.call().function().equals("_+_") && e.call().args().size() == 2) {
          return add(size(e.call().args().get(0)), size(e.call().args().get(1)));
        }
        return ASSUMED_LIST_SIZE;
      default:
        return ASSUMED_LIST_SIZE;
    }
  }

  /** Extra steps a function spends on {@code arg} when it is a string or bytes. */
  private long textSteps(CelExpr arg) {
    Optional<CelType> t = ast.getType(arg.id());
    if (t.isEmpty() || (t.get().kind() != CelKind.STRING && t.get().kind() != CelKind.BYTES)) {
      return 0;
    }
    return textSize(arg) / CHARS_PER_STEP;
  }

  private long textSize(CelExpr e) {
    if (e.getKind() == CelExpr.ExprKind.Kind.CONSTANT) {
      CelConstant c = e.constant();
      if (c.getKind() == CelConstant.Kind.STRING_VALUE) {
        return c.stringValue().length();
      }
      if (c.getKind() == CelConstant.Kind.BYTES_VALUE) {
        return c.bytesValue().size();
      }
    }
    if (e.getKind() == CelExpr.ExprKind.Kind.CALL
        && e.call().function().equals("_+_")
        && e.call().args().size() == 2) {
      return add(textSize(e.call().args().get(0)), textSize(e.call().args().get(1)));
    }
    return ASSUMED_STRING_SIZE;
  }

  private static long add(long a, long b) {
    return Math.min(CAP, a + b);
  }

  private static long multiply(long a, long b) {
    if (a != 0 && b > CAP / a) {
      return CAP;
    }
    return Math.min(CAP, a * b);
  }
}
