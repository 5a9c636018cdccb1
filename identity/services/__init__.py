"""Domain logic: async functions over a session, settings values and a clock; never Starlette."""
