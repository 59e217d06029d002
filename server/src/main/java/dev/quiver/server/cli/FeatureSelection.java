package dev.quiver.server.cli;

import java.util.List;
import picocli.CommandLine.Option;

/** Which features a command reads: a feature service, or view:feature references. */
final class FeatureSelection {
  @Option(names = "--service", paramLabel = "NAME", description = "A feature service.")
  String service;

  @Option(
      names = "--features",
      split = ",",
      paramLabel = "REF",
      description = "view:feature references.")
  List<String> features;
}
