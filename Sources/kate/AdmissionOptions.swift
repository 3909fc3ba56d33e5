import ArgumentParser

// SEED written by the lead; the admission helper owns and replaces this file.
struct AdmissionOptions: ParsableArguments {}
