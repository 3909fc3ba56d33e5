import Testing

// Seed; replaced by the hardening engineer.
