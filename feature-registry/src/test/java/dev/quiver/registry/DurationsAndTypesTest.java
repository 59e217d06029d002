package dev.quiver.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.quiver.registry.logic.Aggregations;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsAndTypesTest {

  @ParameterizedTest
  @CsvSource({"0,0", "90s,90", "5m,300", "1h,3600", "30d,2592000", "1h30m,5400", "2w,1209600"})
  void parsesDurations(String text, long seconds) {
    assertThat(Durations.parse(text)).contains(Duration.ofSeconds(seconds));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"", "30", "30 days", "1.5h", "-1h", "30m1h", "1h1h", "h", "99999999999999999999d"})
  void rejectsMalformedDurations(String text) {
    assertThat(Durations.parse(text)).isEmpty();
  }

  @Test
  void formatsDurationsShortestFirst() {
    assertThat(Durations.format(Duration.ofMinutes(90))).isEqualTo("1h30m");
    assertThat(Durations.format(Duration.ofDays(30))).isEqualTo("30d");
    assertThat(Durations.format(Duration.ZERO)).isEqualTo("0");
    assertThat(Durations.format(Duration.ofMillis(1500))).isEqualTo("1s500ms");
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
        "list< string >"
      })
  void typeNamesRoundTrip(String name) {
    assertThat(Types.parse(name)).isPresent();
    assertThat(Types.format(Types.parse(name).orElseThrow())).isEqualTo(name.replace(" ", ""));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"int", "decimal", "list<list<float>>", "list<>", "map<string,int>", "Double"})
  void rejectsUnknownTypes(String name) {
    assertThat(Types.parse(name)).isEmpty();
  }

  @Test
  void defaultHopsFollowTheWindowLength() {
    assertThat(Aggregations.defaultHop(Duration.ofHours(1))).isEqualTo(Duration.ofMinutes(5));
    assertThat(Aggregations.defaultHop(Duration.ofHours(12))).isEqualTo(Duration.ofHours(1));
    assertThat(Aggregations.defaultHop(Duration.ofDays(7))).isEqualTo(Duration.ofHours(1));
    assertThat(Aggregations.defaultHop(Duration.ofDays(12))).isEqualTo(Duration.ofDays(1));
    assertThat(Aggregations.defaultHop(Duration.ofMinutes(2))).isEqualTo(Duration.ofMinutes(2));
  }
}
