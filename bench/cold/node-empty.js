// Cold start baseline: a Node process that does nothing but print the answer.
console.log(3 * 3);
