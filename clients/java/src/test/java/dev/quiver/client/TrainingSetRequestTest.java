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
  void aServiceRequestNamesItsBaselineOrAsksForNone() {
    assertThat(text(TrainingSetRequest.forService("svc").baseline("train-1")))
        .isEqualTo(
            "{\"service\":\"svc\",\"timestamp_column\":\"event_timestamp\",\"baseline\":\"train-1\"}");
    assertThat(text(TrainingSetRequest.forService("svc").baseline("x").noBaseline()))
        .isEqualTo(
            "{\"service\":\"svc\",\"timestamp_column\":\"event_timestamp\",\"baseline\":false}");
    TrainingSetRequest named = TrainingSetRequest.forService("svc").noBaseline().baseline("b");
    assertThat(named.baseline()).isEqualTo("b");
    assertThat(named.recordsBaseline()).isTrue();
    assertThat(named.timestampColumn("ts").deadline(Duration.ofMinutes(1)).baseline())
        .isEqualTo("b");
    assertThatThrownBy(() -> TrainingSetRequest.forFeatures("a:x").baseline("b"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("feature service");
    assertThatThrownBy(() -> TrainingSetRequest.forService("svc").baseline(""))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aRequestMayAskToBeRefusedPastTheOfflineWatermark() {
    assertThat(TrainingSetRequest.forService("svc").refusesPastWatermark()).isFalse();
    TrainingSetRequest refusing =
        TrainingSetRequest.forFeatures("card:amount").refusePastWatermark().timestampColumn("ts");
    assertThat(refusing.refusesPastWatermark()).isTrue();
    assertThat(text(refusing))
        .isEqualTo(
            "{\"features\":[\"card:amount\"],\"timestamp_column\":\"ts\","
                + "\"refuse_past_watermark\":true}");
    assertThat(text(TrainingSetRequest.forService("svc").refusePastWatermark().noBaseline()))
        .endsWith(",\"baseline\":false,\"refuse_past_watermark\":true}");
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
