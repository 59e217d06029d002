package dev.quiver.registry.load;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.quiver.registry.Durations;
import dev.quiver.registry.TestRepos;
import dev.quiver.registry.Types;
import dev.quiver.registry.aggregate.AggregateFunction;
import dev.quiver.registry.aggregate.AggregateFunctions;
import dev.quiver.registry.aggregate.AggregateParameter;
import dev.quiver.registry.aggregate.ParameterRule;
import dev.quiver.registry.logic.Aggregations;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The JSON Schema for registry files ({@code schema/quiver-registry.schema.json}) must agree with
 * the validator: the same keys for every kind of mapping, the same type names, durations and
 * functions; it accepts every valid file and rejects the structural mistakes the validator rejects.
 */
class JsonSchemaAgreementTest {
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  static JsonNode schemaJson;
  static JsonSchema schema;

  @BeforeAll
  static void loadSchema() throws IOException {
    Path file = TestRepos.checkoutRoot().resolve("schema/quiver-registry.schema.json");
    schemaJson = new ObjectMapper().readTree(file.toFile());
    schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(schemaJson);
  }

  static Set<ValidationMessage> validate(String yaml) throws IOException {
    JsonNode doc = YAML.readTree(yaml);
    return schema.validate(doc == null || doc.isMissingNode() ? YAML.createObjectNode() : doc);
  }

  @Test
  void everyMappingKindHasTheValidatorsKeys() {
    for (Map.Entry<String, List<String>> kind : RegistryKeys.BY_DEFINITION.entrySet()) {
      JsonNode def = schemaJson.at("/$defs/" + kind.getKey() + "/properties");
      assertThat(def.isMissingNode()).as("schema defines %s", kind.getKey()).isFalse();
      List<String> keys = new ArrayList<>();
      def.fieldNames().forEachRemaining(keys::add);
      assertThat(keys)
          .as("keys of %s", kind.getKey())
          .containsExactlyInAnyOrderElementsOf(kind.getValue());
    }
  }

  @Test
  void aggregationFunctionsAreTheValidatorsFunctions() {
    List<String> functions = new ArrayList<>();
    schemaJson
        .at("/$defs/aggregation/properties/function/enum")
        .forEach(n -> functions.add(n.asText()));
    assertThat(functions).containsExactlyElementsOf(Aggregations.names());
  }

  static Stream<AggregateFunction> functions() {
    return AggregateFunctions.all().stream();
  }

  static String aggregation(AggregateFunction f, Map<String, String> parameters) {
    StringBuilder y =
        new StringBuilder(
            "feature_views:\n  v:\n    entities: [e]\n    source: s\n    aggregations:\n"
                + "      a:\n        function: "
                + Aggregations.name(f.id())
                + "\n        window: 1h\n");
    if (f.needsInput()) {
      y.append("        input: x\n");
    }
    parameters.forEach(
        (k, v) -> y.append("        ").append(k).append(": ").append(v).append('\n'));
    return y.toString();
  }

  static Map<String, String> required(AggregateFunction f) {
    Map<String, String> m = new java.util.LinkedHashMap<>();
    for (ParameterRule r : f.parameters()) {
      if (r.isRequired()) {
        m.put(r.parameter().key(), r.parameter().format(r.min()));
      }
    }
    return m;
  }

  /** The schema takes, refuses and bounds each function's parameters as its rules do. */
  @ParameterizedTest
  @MethodSource("functions")
  void parametersAgreeWithEachFunctionsRules(AggregateFunction f) throws IOException {
    String name = Aggregations.name(f.id());
    assertThat(validate(aggregation(f, required(f))))
        .as("%s with its required parameters", name)
        .isEmpty();
    for (ParameterRule r : f.parameters()) {
      String key = r.parameter().key();
      Map<String, String> m = required(f);
      if (r.isRequired()) {
        m.remove(key);
        assertThat(validate(aggregation(f, m))).as("%s without %s", name, key).isNotEmpty();
      }
      for (double v : new double[] {r.min(), r.max()}) {
        m = required(f);
        m.put(key, r.parameter().format(v));
        assertThat(validate(aggregation(f, m))).as("%s with %s = %s", name, key, v).isEmpty();
      }
      double step = r.parameter().integral() ? 1 : 0.5;
      for (double v : new double[] {r.min() - step, r.max() + step}) {
        m = required(f);
        m.put(key, r.parameter().format(v));
        assertThat(validate(aggregation(f, m))).as("%s with %s = %s", name, key, v).isNotEmpty();
      }
    }
    for (AggregateParameter p : AggregateParameter.values()) {
      if (f.parameters().stream().noneMatch(r -> r.parameter() == p)) {
        Map<String, String> m = required(f);
        m.put(p.key(), p == AggregateParameter.PERCENTILE ? "0.5" : "8");
        assertThat(validate(aggregation(f, m))).as("%s with %s", name, p.key()).isNotEmpty();
      }
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "bool",
        "int32",
        "int64",
        "float",
        "double",
        "string",
        "bytes",
        "timestamp",
        "list<float>",
        "list<string>",
        "list< int64 >",
        "int",
        "decimal",
        "list<list<float>>",
        "list<>",
        "Double",
        "map"
      })
  void typeNamesAgree(String type) throws IOException {
    String yaml =
        "sources:\n  s:\n    kafka: {topic: t}\n    event_timestamp: ts\n"
            + "    schema: {ts: timestamp, x: '"
            + type
            + "'}\n";
    assertThat(validate(yaml).isEmpty())
        .as("schema accepts type '%s'", type)
        .isEqualTo(Types.parse(type).isPresent());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "0", "90s", "5m", "1h", "30d", "2w", "1h30m", "250ms", "30", "30 days", "1.5h", "-1h", "h"
      })
  void durationsAgree(String ttl) throws IOException {
    String yaml =
        "feature_views:\n  v:\n    entities: [e]\n    source: s\n    ttl: '" + ttl + "'\n";
    assertThat(validate(yaml).isEmpty())
        .as("schema accepts ttl '%s'", ttl)
        .isEqualTo(Durations.parse(ttl).isPresent());
  }

  static Stream<Path> validFiles() throws IOException {
    Path root = TestRepos.checkoutRoot();
    List<Path> files = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(root.resolve("examples"))) {
      walk.filter(p -> p.toString().endsWith(".yaml")).forEach(files::add);
    }
    Path resources = root.resolve("feature-registry/src/test/resources");
    files.add(resources.resolve("base/quiver.yaml"));
    files.add(resources.resolve("base/base.yaml"));
    files.add(resources.resolve("plan/base.yaml"));
    return files.stream().sorted();
  }

  @ParameterizedTest
  @MethodSource("validFiles")
  void validFilesPassTheSchema(Path file) throws IOException {
    assertThat(validate(Files.readString(file))).as("schema errors in %s", file).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "01-unknown-key.yaml",
        "02-bad-type.yaml",
        "03-bad-duration.yaml",
        "16-aggregation-function.yaml",
        "17-aggregation-window-missing.yaml",
        "20-entities-not-a-list.yaml",
        "21-invalid-name.yaml",
        "25-version-zero.yaml",
        "26-bad-reference.yaml",
        "28-unknown-section.yaml",
        "29-join-key-double.yaml",
        "30-missing-expr.yaml",
        "35-aggregation-parameter-missing.yaml",
        "36-aggregation-parameter-range.yaml",
        "37-aggregation-parameter-unexpected.yaml"
      })
  void structuralMistakesFailTheSchemaToo(String broken) throws IOException {
    assertThat(validate(TestRepos.resource("broken/" + broken)))
        .as("schema errors for %s", broken)
        .isNotEmpty();
  }
}
