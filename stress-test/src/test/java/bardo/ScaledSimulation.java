package bardo;

/** The "scaled" profile of {@link RinhaSimulation} (its own results folder name). */
public class ScaledSimulation extends RinhaSimulation {
  public ScaledSimulation() {
    super("scaled");
  }
}
