package bardo;

import static io.gatling.javaapi.core.CoreDsl.*;
import static io.gatling.javaapi.http.HttpDsl.*;

import io.gatling.javaapi.core.OpenInjectionStep;
import io.gatling.javaapi.core.PopulationBuilder;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;
import java.io.File;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The Rinha de Backend 2023 Q3 Gatling profile (the tournament ran Gatling 3.9.5), rewritten in
 * the Java DSL with the same scenarios, checks, pauses, feeders and injection steps.
 *
 * <p>Selection (system property, else environment variable, else default):
 *
 * <ul>
 *   <li>{@code profile} / {@code PROFILE}: tournament (default) | bards | double | triple | scaled
 *       | smoke
 *   <li>{@code scale} / {@code SCALE}: the multiplier of the scaled profile (default 4)
 *   <li>{@code baseUrl} / {@code BASE_URL}: default http://localhost:9999
 *   <li>{@code resource} / {@code RESOURCE}: pessoas | bards | BardAGI (default: bards for the bards
 *       profile, pessoas otherwise)
 *   <li>{@code payloads} / {@code PAYLOADS}: payload TSV (header {@code payload}); default the
 *       tournament's file under $BARDO_SHARED_DIR or ../shared/rinha-2023-q3/
 *   <li>{@code terms} / {@code TERMS}: search-term TSV (header {@code t}); same default folder
 * </ul>
 *
 * <p>The subclasses ({@link TournamentSimulation}, ...) pin the profile so that each one gets its
 * own results folder name.
 */
public class RinhaSimulation extends Simulation {

  static String setting(String property, String env, String fallback) {
    String v = System.getProperty(property);
    if (v == null || v.isBlank()) v = System.getenv(env);
    return (v == null || v.isBlank()) ? fallback : v.trim();
  }

  /** Finds shared/rinha-2023-q3/NAME: $BARDO_SHARED_DIR, then ../shared from here upwards. */
  static String sharedFile(String name) {
    List<File> candidates = new ArrayList<>();
    String sharedDir = System.getenv("BARDO_SHARED_DIR");
    if (sharedDir != null && !sharedDir.isBlank()) {
      candidates.add(new File(sharedDir, "rinha-2023-q3/" + name));
    }
    File dir = new File(System.getProperty("user.dir")).getAbsoluteFile();
    for (int i = 0; dir != null && i < 4; i++, dir = dir.getParentFile()) {
      candidates.add(new File(dir, "shared/rinha-2023-q3/" + name));
      if (dir.getParentFile() != null) {
        candidates.add(new File(dir.getParentFile(), "shared/rinha-2023-q3/" + name));
      }
    }
    candidates.add(new File("/work/shared/rinha-2023-q3/" + name));
    for (File f : candidates) {
      if (f.isFile()) return f.getAbsolutePath();
    }
    throw new IllegalStateException(
        "cannot find " + name + " (tried " + candidates + "); set BARDO_SHARED_DIR or -D"
            + (name.startsWith("pessoas") ? "payloads" : "terms") + "=PATH");
  }

  /** Rates of one profile: users per second of each injection step. */
  record Profile(
      String name,
      // criação: constant c1 for d1 s, constant c2 for d2 s (randomized), ramp r0 -> r1 over d3 s
      double c1, int d1, double c2, int d2, double createFrom, double createTo, int ramp,
      // busca válida / inválida: constant w for dw s, then ramp from -> to over ramp s
      double validWarm, double validFrom, double validTo,
      double invalidWarm, double invalidFrom, double invalidTo, int searchWarm) {

    static Profile named(String name) {
      switch (name.toLowerCase(Locale.ROOT)) {
        case "tournament":
        case "bards":
          return new Profile(name, 2, 10, 5, 15, 6, 600, 180, 2, 6, 100, 2, 6, 40, 25);
        case "double":
          // create ramp 6 -> 1,200 users/s; both search scenarios at twice the rates
          return new Profile(name, 2, 10, 5, 15, 6, 1200, 180, 4, 12, 200, 4, 12, 80, 25);
        case "triple":
          // create ramp 6 -> 1,800 users/s; both search scenarios at three times the rates
          return new Profile(name, 2, 10, 5, 15, 6, 1800, 180, 6, 18, 300, 6, 18, 120, 25);
        case "scaled":
          return scaled(Double.parseDouble(setting("scale", "SCALE", "4")));
        case "smoke":
          // 40 s of load in all, about 1,000 POSTs
          return new Profile(name, 2, 5, 5, 5, 6, 60, 30, 2, 6, 20, 2, 6, 10, 10);
        default:
          throw new IllegalArgumentException(
              "unknown profile '" + name + "' (tournament | bards | double | triple | scaled | smoke)");
      }
    }

    /** The tournament with its create ramp and both search scenarios times {@code k}. */
    static Profile scaled(double k) {
      if (!(k >= 1)) throw new IllegalArgumentException("scale must be at least 1, not " + k);
      return new Profile(
          "scaled", 2, 10, 5, 15, 6, 600 * k, 180, 2 * k, 6 * k, 100 * k, 2 * k, 6 * k, 40 * k, 25);
    }
  }

  public RinhaSimulation() {
    this(setting("profile", "PROFILE", "tournament"));
  }

  protected RinhaSimulation(String profileName) {
    Profile p = Profile.named(profileName);
    String baseUrl = setting("baseUrl", "BASE_URL", "http://localhost:9999");
    String resource =
        setting("resource", "RESOURCE", p.name().equalsIgnoreCase("bards") ? "bards" : "pessoas");
    String path = "/" + resource.replaceAll("^/+", "");
    String payloads = setting("payloads", "PAYLOADS", null);
    if (payloads == null) payloads = sharedFile("pessoas-payloads.tsv");
    String terms = setting("terms", "TERMS", null);
    if (terms == null) terms = sharedFile("termos-busca.tsv");

    System.out.printf(
        "bardo stress test: profile=%s baseUrl=%s path=%s%n  payloads=%s%n  terms=%s%n",
        p.name(), baseUrl, path, payloads, terms);

    HttpProtocolBuilder httpProtocol =
        http.baseUrl(baseUrl)
            .userAgentHeader("Agente do Caos - 2023")
            // The tournament's warm-up request went to gatling.io, never to the service under
            // test; there is no outside network here, so skip it (server-side traffic unchanged).
            .disableWarmUp();
    // Connections: Gatling's default (shareConnections off): each virtual user opens its own.

    ScenarioBuilder criacaoEConsulta =
        scenario("Criação E Talvez Consulta de Pessoas")
            .feed(tsv(payloads).circular())
            .exec(
                http("criação")
                    .post(path)
                    .body(StringBody("#{payload}"))
                    .header("content-type", "application/json")
                    // 201 success, 422 invalid, 400 malformed
                    .check(status().in(201, 422, 400))
                    .check(status().saveAs("httpStatus"))
                    // a 201 without Location is a KO
                    .checkIf(session -> session.getInt("httpStatus") == 201)
                    .then(header("Location").saveAs("location")))
            .pause(Duration.ofMillis(1), Duration.ofMillis(30))
            .doIf(session -> session.contains("location"))
            .then(exec(http("consulta").get("#{location}")));

    ScenarioBuilder buscaValida =
        scenario("Busca Válida de Pessoas")
            .feed(tsv(terms).circular())
            // any 2xx (Gatling's default check)
            .exec(http("busca válida").get(path + "?t=#{t}"));

    ScenarioBuilder buscaInvalida =
        scenario("Busca Inválida de Pessoas")
            .exec(http("busca inválida").get(path).check(status().is(400)));

    OpenInjectionStep[] create = {
      constantUsersPerSec(p.c1()).during(Duration.ofSeconds(p.d1())),
      constantUsersPerSec(p.c2()).during(Duration.ofSeconds(p.d2())).randomized(),
      rampUsersPerSec(p.createFrom()).to(p.createTo()).during(Duration.ofSeconds(p.ramp()))
    };
    OpenInjectionStep[] valid = {
      constantUsersPerSec(p.validWarm()).during(Duration.ofSeconds(p.searchWarm())),
      rampUsersPerSec(p.validFrom()).to(p.validTo()).during(Duration.ofSeconds(p.ramp()))
    };
    OpenInjectionStep[] invalid = {
      constantUsersPerSec(p.invalidWarm()).during(Duration.ofSeconds(p.searchWarm())),
      rampUsersPerSec(p.invalidFrom()).to(p.invalidTo()).during(Duration.ofSeconds(p.ramp()))
    };
    PopulationBuilder[] populations = {
      criacaoEConsulta.injectOpen(create),
      buscaValida.injectOpen(valid),
      buscaInvalida.injectOpen(invalid)
    };
    setUp(populations).protocols(httpProtocol);
  }
}
