package bardo;

/** The "triple" profile of {@link RinhaSimulation} (its own results folder name). */
public class TripleSimulation extends RinhaSimulation {
  public TripleSimulation() {
    super("triple");
  }
}
