package dev.quiver.registry.logic;

import dev.cel.bundle.Cel;
import dev.cel.bundle.CelFactory;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelIssue;
import dev.cel.common.CelOptions;
import dev.cel.common.CelValidationException;
import dev.cel.common.CelValidationResult;
import dev.cel.common.ast.CelExpr;
import dev.cel.common.types.CelType;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.util.Messages;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Compiles CEL expressions against one source schema: every schema field is a variable of the
 * matching CEL type, with the standard functions and macros. Thread-safe.
 */
public final class ExpressionCompiler {
  private final Cel cel;
  private final Map<String, Result> compiled = new ConcurrentHashMap<>();

  public ExpressionCompiler(List<Field> schema) {
    var builder =
        CelFactory.standardCelBuilder()
            .setOptions(
                CelOptions.current()
                    .comprehensionMaxIterations(CompiledExpression.MAX_ITERATIONS)
                    .build())
            .setStandardMacros(CelStandardMacro.STANDARD_MACROS);
    for (Field f : schema) {
      builder.addVar(f.getName(), CelTypes.of(f.getType()));
    }
    this.cel = builder.build();
  }

  /**
   * A problem in an expression.
   *
   * @param line 1-based line within the expression
   * @param column 0-based column within that line
   */
  public record Issue(String message, int line, int column) {}

  /** The outcome of compiling one expression: a checked AST and its type, or issues. */
  public static final class Result {
    private final String source;
    private final CelAbstractSyntaxTree ast;
    private final List<Issue> issues;
    private final Cel cel;

    private Result(String source, CelAbstractSyntaxTree ast, List<Issue> issues, Cel cel) {
      this.source = source;
      this.ast = ast;
      this.issues = List.copyOf(issues);
      this.cel = cel;
    }

    public boolean ok() {
      return issues.isEmpty();
    }

    public List<Issue> issues() {
      return issues;
    }

    /** The static type of the expression; only when {@link #ok()}. */
    public CelType type() {
      return ast.getResultType();
    }

    /** The estimated cost of one evaluation ({@link ExpressionCost}); only when {@link #ok()}. */
    public long cost() {
      return ExpressionCost.estimate(ast);
    }

    /** The fields the expression reads; only when {@link #ok()}. */
    public Set<String> variables() {
      Set<String> out = new TreeSet<>();
      collect(ast.getExpr(), new ArrayDeque<>(), out);
      return out;
    }

    /** An executable form producing values of {@code declared}; only when {@link #ok()}. */
    public CompiledExpression as(ValueType declared) {
      try {
        return new CompiledExpression(source, cel.createProgram(ast), variables(), declared);
      } catch (CelEvaluationException e) {
        throw new IllegalStateException(
            "cannot plan checked expression " + Messages.quote(source), e);
      }
    }
  }

  /**
   * Parses and type-checks {@code expression}. Never throws for a bad expression. Results are kept
   * by text: type-checking builds CEL's whole standard environment each time (about a millisecond),
   * and a repo repeats expressions, and validating then compiling a repo compiles each one twice.
   */
  public Result compile(String expression) {
    return compiled.computeIfAbsent(expression, this::compileOnce);
  }

  private Result compileOnce(String expression) {
    CelValidationResult r = cel.compile(expression);
    if (r.hasError()) {
      return new Result(
          expression, null, r.getErrors().stream().map(ExpressionCompiler::issue).toList(), cel);
    }
    try {
      return new Result(expression, r.getAst(), List.of(), cel);
    } catch (CelValidationException e) {
      return new Result(expression, null, List.of(new Issue(e.getMessage(), 1, 0)), cel);
    }
  }

  private static Issue issue(CelIssue i) {
    var loc = i.getSourceLocation();
    int line = Math.max(1, loc.getLine());
    int column = Math.max(0, loc.getColumn());
    return new Issue(i.getMessage(), line, column);
  }

  private static void collect(CelExpr e, Deque<String> bound, Set<String> out) {
    switch (e.getKind()) {
      case IDENT -> {
        String n = e.ident().name();
        if (!bound.contains(n)) {
          out.add(n);
        }
      }
      case SELECT -> collect(e.select().operand(), bound, out);
      case CALL -> {
        e.call().target().ifPresent(t -> collect(t, bound, out));
        for (CelExpr a : e.call().args()) {
          collect(a, bound, out);
        }
      }
      case LIST -> {
        for (CelExpr el : e.list().elements()) {
          collect(el, bound, out);
        }
      }
      case MAP -> {
        for (CelExpr.CelMap.Entry en : e.map().entries()) {
          collect(en.key(), bound, out);
          collect(en.value(), bound, out);
        }
      }
      case STRUCT -> {
        for (CelExpr.CelStruct.Entry en : e.struct().entries()) {
          collect(en.value(), bound, out);
        }
      }
      case COMPREHENSION -> {
        CelExpr.CelComprehension c = e.comprehension();
        collect(c.iterRange(), bound, out);
        collect(c.accuInit(), bound, out);
        bound.push(c.accuVar());
        bound.push(c.iterVar());
        boolean second = !c.iterVar2().isEmpty();
        if (second) {
          bound.push(c.iterVar2());
        }
        collect(c.loopCondition(), bound, out);
        collect(c.loopStep(), bound, out);
        collect(c.result(), bound, out);
        if (second) {
          bound.pop();
        }
        bound.pop();
        bound.pop();
      }
      default -> {}
    }
  }
}
