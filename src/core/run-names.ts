/** Generated flow-run names: `adjective-animal`, e.g. `electric-mandrill`. Pure: randomness is injected. */

const ADJECTIVES = `able agile amber ancient arctic azure bold brave bright brisk bronze calm candid careful cheerful
clever cobalt cosmic cozy crimson crisp curious daring dazzling eager earnest electric emerald fancy fearless
fluffy fragrant friendly gentle giant gleaming golden graceful green happy hardy hazel helpful honest humble
icy indigo jolly jovial keen kind lively lucky lunar magenta majestic mellow merry mighty misty modest nimble
noble olive opal orange patient peaceful placid plucky polite proud quick quiet radiant rapid rustic sandy
scarlet serene shiny silent silver sincere smart snowy solar spirited steady sturdy sunny swift tidy tranquil
trusty upbeat valiant velvet vivid warm wise witty zealous zesty`.split(/\s+/);

const ANIMALS = `aardvark albatross alpaca anteater antelope armadillo badger barracuda beaver bison bobcat buffalo
butterfly camel capybara caribou cassowary cheetah chinchilla cobra condor cormorant coyote crane cricket
dingo dolphin donkey dormouse dove dragonfly eagle echidna eel egret elephant elk emu falcon ferret finch
flamingo fox frog gazelle gecko gerbil gibbon giraffe gnu goose gorilla grouse hamster hare hedgehog heron
hippo hummingbird ibex ibis iguana impala jackal jaguar kangaroo kestrel kingfisher koala lemur leopard
llama lobster lynx macaw mandrill manatee marmot meerkat mongoose moose narwhal newt ocelot octopus okapi
orca oriole otter owl panda panther parrot pelican penguin pheasant platypus puffin quail quokka rabbit
raccoon raven reindeer robin salamander seal sparrow squirrel starling stork swan tapir tiger toucan turtle
walrus warthog weasel whale wolf wombat yak zebra`.split(/\s+/);

/** `random()` returns [0, 1) like Math.random. */
export function generateRunName(random: () => number = Math.random): string {
  const pick = (words: readonly string[]) => words[Math.floor(random() * words.length) % words.length]!;
  return `${pick(ADJECTIVES)}-${pick(ANIMALS)}`;
}

export const RUN_NAME_WORDS = { adjectives: ADJECTIVES, animals: ANIMALS } as const;
