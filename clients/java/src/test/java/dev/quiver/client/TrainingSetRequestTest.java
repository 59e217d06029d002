package dev.quiver.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class TrainingSetRequestTest {
  @Test
  void theCommandIsTheJsonTheServerExpects() {
    assertThat(text(TrainingSetRequest.forService("fraud_model_v1")))
        .isEqualTo("{\"service\":\"fraud_model_v1\",\"timestamp_column\":\"event_timestamp\"}");
    assertThat(text(TrainingSetRequest.forFeatures("a:x", "b@2:y").timestampColumn("ts")))
        .isEqualTo("{\"features\":[\"a:x\",\"b@2:y\"],\"timestamp_column\":\"ts\"}");
  }

  @Test
  void namesAreEscaped() {
    assertThat(text(TrainingSetRequest.forService("q\"uo\\te\n")))
        .startsWith("{\"service\":\"q\\\"uo\\\\te\\u000a\",");
  }

  @Test
  void emptyOrNonsensicalRequestsAreRefusedAtOnce() {
    assertThatThrownBy(() -> TrainingSetRequest.forService(""))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TrainingSetRequest.forFeatures())
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TrainingSetRequest.forService("s").deadline(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(TrainingSetRequest.forService("s").deadline()).isNull();
  }

  private static String text(TrainingSetRequest r) {
    return new String(r.command(), StandardCharsets.UTF_8);
  }
}
