package dev.quiver.registry.logic;

import dev.quiver.proto.v1.Aggregation;
import dev.quiver.proto.v1.Feature;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.Types;
import dev.quiver.registry.util.Messages;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The compiled feature logic of a registry snapshot: one {@link CompiledView} per view version.
 * This is what ingestion, backfills and the offline engine execute, so every path computes a
 * feature with the same code. Immutable and thread-safe.
 */
public final class FeatureLogic {
  private final Map<String, CompiledView> views;

  private FeatureLogic(Map<String, CompiledView> views) {
    this.views = Map.copyOf(views);
  }

  /**
   * Compiles every expression of a validated snapshot.
   *
   * @throws IllegalArgumentException if an expression does not compile (the snapshot was not
   *     produced by the validator)
   */
  public static FeatureLogic compile(RegistrySnapshot snapshot) {
    return compile(snapshot, new HashMap<>());
  }

  /**
   * {@link #compile(RegistrySnapshot)} with the compilers of each source, by source name, that
   * validated the snapshot, so that no expression is compiled twice; missing ones are added.
   */
  public static FeatureLogic compile(
      RegistrySnapshot snapshot, Map<String, ExpressionCompiler> compilers) {
    Map<String, Source> sources = new HashMap<>();
    for (Source s : snapshot.getSourcesList()) {
      sources.put(s.getName(), s);
    }
    Map<String, CompiledView> views = new HashMap<>();
    for (FeatureView v : snapshot.getFeatureViewsList()) {
      Source source = sources.get(v.getSource());
      if (source == null) {
        throw new IllegalArgumentException(
            "view "
                + v.getName()
                + " v"
                + v.getVersion()
                + " reads unknown source "
                + v.getSource());
      }
      ExpressionCompiler compiler =
          compilers.computeIfAbsent(
              source.getName(), n -> new ExpressionCompiler(source.getSchemaList()));
      CompiledExpression filter =
          v.getFilter().isEmpty()
              ? null
              : compile(compiler, v.getFilter(), Types.of(ScalarType.SCALAR_TYPE_BOOL), v);
      List<CompiledView.CompiledFeature> features = new ArrayList<>();
      for (Feature f : v.getFeaturesList()) {
        features.add(
            new CompiledView.CompiledFeature(f, compile(compiler, f.getExpr(), f.getType(), v)));
      }
      List<CompiledView.CompiledAggregation> aggregations = new ArrayList<>();
      for (Aggregation a : v.getAggregationsList()) {
        CompiledExpression input = null;
        if (!a.getInput().isEmpty()) {
          ExpressionCompiler.Result r = compiler.compile(a.getInput());
          if (!r.ok()) {
            throw invalid(v, a.getInput(), r);
          }
          // The input type the registry recorded at validate time, so every path (tiles, held
          // rows, Parquet columns) stores the same type; older registries derive it.
          input = r.as(a.hasInputType() ? a.getInputType() : inputType(r, a));
        }
        aggregations.add(new CompiledView.CompiledAggregation(a, input));
      }
      views.put(
          key(v.getName(), v.getVersion()), new CompiledView(v, filter, features, aggregations));
    }
    return new FeatureLogic(views);
  }

  /** Aggregation inputs take the natural type of their expression: int64, double, string... */
  public static dev.quiver.proto.v1.ValueType inputType(
      ExpressionCompiler.Result r, Aggregation a) {
    return CelTypes.natural(r.type())
        .orElseThrow(
            () -> new IllegalArgumentException("aggregation input has no storable type: " + a));
  }

  private static CompiledExpression compile(
      ExpressionCompiler compiler, String expr, dev.quiver.proto.v1.ValueType type, FeatureView v) {
    ExpressionCompiler.Result r = compiler.compile(expr);
    if (!r.ok()) {
      throw invalid(v, expr, r);
    }
    return r.as(type);
  }

  private static IllegalArgumentException invalid(
      FeatureView v, String expr, ExpressionCompiler.Result r) {
    return new IllegalArgumentException(
        "view "
            + v.getName()
            + ": expression "
            + Messages.quote(expr)
            + " does not compile: "
            + r.issues());
  }

  private static String key(String view, int version) {
    return view + "@" + version;
  }

  /** The logic of one view version. */
  public Optional<CompiledView> view(String name, int version) {
    return Optional.ofNullable(views.get(key(name, version)));
  }

  /** Every compiled view version. */
  public List<CompiledView> views() {
    return List.copyOf(views.values());
  }
}
