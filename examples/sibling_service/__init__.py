"""An orders service that trusts Robot Overlord Identity's access tokens."""
